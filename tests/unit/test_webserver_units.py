"""The webserver lab's pure parts: the wire audit on hand-built frames, the kernel readers on
hand-made /proc and netlink bytes, the sandbox's socket and folder hand-over rules, the model rules."""

from __future__ import annotations

import socket
import struct

import pytest

from protolab.confine import codec
from protolab.confine.sandbox import bind_problem
from protolab.expect.expr import Context
from protolab.kernel.sockdump import parse_entry
from protolab.kernel.tasks import Tally, tasks_of
from protolab.servers.webaudit import Clean, Site, audit

from .test_streams import SERVER, Capture, Flow

SITE = Site({"/index.html": (b"<p>hi</p>\n", "text/html"), "/logo.png": (b"\x89PNG\xff", "image/png")},
            outside=(b"protolab-secret-1234",))


def conn(cap: Capture, port: int, request: bytes, response: bytes | None, close: bool = True) -> Flow:
    f = Flow(cap, client=("10.0.1.10", port), server=SERVER)
    f.handshake()
    f.send(f.client, request)
    if response is not None:
        f.send(SERVER, response)
    if close:
        f.fin(SERVER)
    return f


def ok(body: bytes, ctype: str, length: int | None = None) -> bytes:
    n = len(body) if length is None else length
    return f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {n}\r\n\r\n".encode() + body


def test_a_right_file_passes_and_each_mistake_is_named_with_its_frame():
    cap = Capture()
    conn(cap, 41000, b"GET / HTTP/1.1\r\n\r\n", ok(b"<p>hi</p>\n", "text/html; charset=utf-8"))
    conn(cap, 41001, b"GET /logo.png HTTP/1.1\r\n\r\n", ok(b"\x89PNG\xff", "text/plain", length=4))
    conn(cap, 41002, b"GET /index.html HTTP/1.1\r\n\r\n", None)
    plan = {"files": [(41000, "/"), (41001, "/logo.png"), (41002, "/index.html")]}
    problems = audit(cap.frames, 80, plan, SITE)["files"]
    assert len(problems) == 3, problems
    assert problems[0].startswith("GET /logo.png: Content-Length says 4 but the file has 5 bytes (frame #")
    assert problems[1].startswith("GET /logo.png: Content-Type is 'text/plain', expected 'image/png' for a png file")
    assert problems[2].startswith("GET /index.html: your server sent no response; it closed the connection (FIN, frame #")


def test_statuses_traversal_and_many():
    cap = Capture()
    conn(cap, 42000, b"GET /nope HTTP/1.1\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    conn(cap, 42001, b"HELLO\r\n\r\n", b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    conn(cap, 42002, b"GET /../secret.txt HTTP/1.1\r\n\r\n", ok(b"protolab-secret-1234\n", "text/plain"))
    conn(cap, 42003, b"GET /%2e%2e/secret.txt HTTP/1.1\r\n\r\n", b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    conn(cap, 42004, b"GET /index.html HTTP/1.1\r\n\r\n", ok(b"<p>hi</p>\n", "text/html"))
    plan = {"missing": [(42000, "GET /nope")], "malformed": [(42001, "HELLO")],
            "traversal": [(42002, "/../secret.txt"), (42003, "/%2e%2e/secret.txt")],
            "many": [42004, 42099], "many_path": "/index.html"}
    out = audit(cap.frames, 80, plan, SITE)
    assert out["missing"] and out["missing"][0].startswith("GET /nope: the status is 200, expected 404")
    assert out["malformed"] == []
    assert len(out["traversal"]) == 1 and out["traversal"][0].startswith("GET /../secret.txt returned a file outside")
    assert out["many"] == ["1 of the 2 simultaneous clients got no response"]


def slow_capture(fast_after: bool) -> tuple[Capture, dict]:
    cap = Capture()
    slow = Flow(cap, client=("10.0.1.10", 43000), server=SERVER)
    slow.handshake()
    slow.send(slow.client, b"GET / HTTP/1.1\r\n")
    fast = conn(cap, 43001, b"GET /index.html HTTP/1.1\r\n\r\n", None, close=False)
    if not fast_after:
        fast.send(SERVER, ok(b"<p>hi</p>\n", "text/html"))
    slow.at(slow.client, 16, b"\r\n")
    slow.send(SERVER, ok(b"<p>hi</p>\n", "text/html"))
    if fast_after:
        fast.send(SERVER, ok(b"<p>hi</p>\n", "text/html"))
    return cap, {"slow": 43000, "fast": [43001], "split": 16}


def test_the_slow_client_test_tells_interleaving_from_serial_service():
    cap, plan = slow_capture(fast_after=False)
    assert audit(cap.frames, 80, plan, SITE)["slow"] == []
    cap, plan = slow_capture(fast_after=True)
    (problem,) = audit(cap.frames, 80, plan, SITE)["slow"]
    assert "all 1 other clients got their responses only after frame #" in problem
    assert "still waiting in recv() on that first connection; their SYNs (#" in problem


def test_clean_reads_as_its_problems():
    cond = Clean("wire.x")
    assert cond.test(Context(facts={"wire.x": []}))
    assert not cond.test(Context(facts={"wire.x": ["a", "b", "c", "d"]}))
    assert cond.explain(Context(facts={"wire.x": ["a", "b", "c", "d"]})) == "a; b; c; and 1 more"
    assert cond.explain(Context(facts={})) == "the lab did not report wire.x"


def test_tasks_of_counts_one_uid_threads_and_zombies(tmp_path):
    def proc(pid: int, uid: int, state: str, threads: int) -> None:
        d = tmp_path / str(pid)
        (d / "fd").mkdir(parents=True)
        (d / "status").write_text(f"Name:\tpython3\nState:\t{state}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nThreads:\t{threads}\n")

    proc(10, 1000000042, "S (sleeping)", 5)
    proc(11, 1000000042, "S (sleeping)", 1)
    proc(12, 1000000042, "Z (zombie)", 1)
    proc(13, 0, "S (sleeping)", 9)
    (tmp_path / "11" / "fd" / "3").symlink_to("anon_inode:[eventpoll]")
    assert tasks_of(1000000042, proc=str(tmp_path)) == Tally(2, 6, 1, True)
    assert Tally(1, 3).most(Tally(2, 1, 0, True)) == Tally(2, 3, 0, True)


def test_a_sock_diag_entry_gives_both_ends_and_the_state():
    body = (struct.pack("=BBBB", socket.AF_INET, 8, 0, 0)
            + struct.pack("!HH16s16s", 80, 45120, socket.inet_aton("10.0.2.80") + bytes(12),
                          socket.inet_aton("10.0.1.10") + bytes(12)) + bytes(12 + 20))
    entry = parse_entry(body)
    assert (entry.local, entry.peer, entry.state) == (("10.0.2.80", 80), ("10.0.1.10", 45120), "CLOSE_WAIT")


def test_a_socket_travels_as_a_handle_only_to_the_student():
    a, b = socket.socketpair()
    try:
        handles: list = []
        data = codec.encode((a, "/srv/www"), handles)
        assert handles == [a] and data["$tuple"][0] == {"$socket": 0}
        with pytest.raises(codec.CodecError, match="only travel to the student"):
            codec.decode(data)
        got = codec.decode(data, lambda n, kind, facts: (n, kind))
        assert got == ((0, codec.SOCKET_KIND), "/srv/www")
        assert codec.encode(a)["$opaque"] == "socket.socket"  # returned by a student: a description only
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("target, ok", [("/srv", True), ("/srv/www", True), ("/tmp/x", False), ("/usr/share", False),
                                        ("srv", False), ("/srv/../etc", False), ("/", False), ("/proc", False)])
def test_a_lab_folder_may_appear_only_in_a_place_of_its_own(target, ok):
    assert (bind_problem(target) is None) is ok


def test_the_model_rules_name_what_the_kernel_showed():
    from protolab.lab.catalog import load_lab

    import importlib.util

    lab = load_lab("webserver")
    spec = importlib.util.spec_from_file_location("webserver_lab", lab.source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.model_problems("thread", Tally(1, 40), False, 100) == []
    assert "it forks, which is the process model" in module.model_problems("thread", Tally(9, 9), False, 100)[0]
    assert "one thread serves everyone" in module.model_problems("thread", Tally(1, 1), False, 100)[0]
    assert "no epoll instance" in module.model_problems("epoll", Tally(1, 1), True, 1000)[0]
    assert "stayed blocking" in module.model_problems("nonblocking", Tally(1, 1), False, 1000)[0]
    assert module.model_problems("process", Tally(1, 1), False, 100)
    assert module.limits_for("epoll").open_files >= 2000 and module.limits_for("thread").processes >= 200
    assert module.limits_for("blocking").processes == 64
