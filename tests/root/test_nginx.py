"""nginx on web, asked from the client node over real kernel TCP across the router."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from protolab.backends.ledger import process_start_time
from protolab.backends.netns import NetnsBackend
from protolab.backends.pids import alive
from protolab.servers import webroot
from protolab.servers.listener import TcpListener
from protolab.servers.nginx import COOKIE, REDIRECT, NginxConfig, NginxServer
from protolab.servers.process import ServiceError
from protolab.topology import load

pytestmark = pytest.mark.root
CONFIG = NginxConfig(keepalive_requests=3, keepalive_timeout=5.0, max_age=120, cookie="session=abc")


@pytest.fixture(scope="module")
def deployment():
    dep = NetnsBackend().deploy(load())
    try:
        yield dep
    finally:
        dep.teardown()


@pytest.fixture
def web(deployment):
    started = time.monotonic()
    with NginxServer(deployment.node("web"), CONFIG) as server:
        print(f"\nnginx on web: first answer {server.ready_after * 1000:.1f} ms after launch, "
              f"{(time.monotonic() - started) * 1000:.1f} ms for the whole start (config, docroot, launch, probe)")
        yield server


def get(deployment, web: NginxServer, path: str, method: str = "GET", headers: dict | None = None):
    """(status, headers, body) of one request from the client node, on a connection of its own."""
    conn = web.connection(deployment.node("client"))
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def curl(deployment, *args: str) -> str:
    result = deployment.node("client").run(["curl", "-s", "-i", "--max-time", "3", *args])
    assert result.returncode == 0, result.stderr
    return result.stdout


def family_of(server: NginxServer) -> list[tuple[int, int]]:
    program = server.program
    return [(program.proc.pid, process_start_time(program.proc.pid)), *program.forked]


def test_nginx_runs_in_web_recorded_with_an_unprivileged_worker_on_one_address(deployment, web):
    program, node = web.program, deployment.node("web")
    recorded = {p.pid for p in deployment.record.processes}
    assert program.proc.pid in recorded and len(program.forked) == 1 and program.forked[0][0] in recorded
    for pid, _ in family_of(web):
        assert os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(node.netns).st_ino != os.stat("/proc/self/ns/net").st_ino
    uids = {pid: Path(f"/proc/{pid}/status").read_text().split("Uid:")[1].split()[0] for pid, _ in family_of(web)}
    assert uids[program.proc.pid] == "0" and uids[program.forked[0][0]] == "33"  # the master root, the worker www-data
    listening = node.run(["ss", "-Hltn"]).stdout.split()
    assert [word for word in listening if word.endswith(":80")] == ["10.0.2.80:80"]  # no [::]:80, no 0.0.0.0:80
    assert (deployment.workdir / "http" / "web" / "nginx.conf").is_file()


def test_a_file_comes_with_its_etag_and_last_modified_and_no_version(deployment, web):
    status, headers, body = get(deployment, web, webroot.INDEX)
    assert status == 200 and body == webroot.files()[webroot.INDEX]
    assert headers["ETag"] == web.etag(webroot.INDEX) == f'"6553f100-{len(body):x}"'
    assert headers["Last-Modified"] == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert headers["Server"] == "nginx" and headers["Content-Type"] == "text/html"
    status, _, body = get(deployment, web, webroot.BIG)
    assert status == 200 and body == webroot.files()[webroot.BIG] and len(body) > 5 * 1448


def test_conditional_requests_get_304_without_a_body(deployment, web):
    etag = web.etag(webroot.INDEX)
    status, headers, body = get(deployment, web, webroot.INDEX, headers={"If-None-Match": etag})
    assert (status, body, headers["ETag"]) == (304, b"", etag) and "Content-Length" not in headers
    status, _, body = get(deployment, web, webroot.INDEX, headers={"If-Modified-Since": "Tue, 14 Nov 2023 22:13:20 GMT"})
    assert (status, body) == (304, b"")
    status, _, body = get(deployment, web, webroot.INDEX, headers={"If-None-Match": '"other"'})
    assert status == 200 and body == webroot.files()[webroot.INDEX]
    status, _, _ = get(deployment, web, webroot.INDEX, headers={"If-Modified-Since": "Tue, 14 Nov 2023 22:13:19 GMT"})
    assert status == 200


def test_the_cached_path_carries_max_age_and_the_others_do_not(deployment, web):
    status, headers, _ = get(deployment, web, webroot.CACHED)
    assert status == 200 and headers["Cache-Control"] == "max-age=120" and headers["ETag"] == web.etag(webroot.CACHED)
    assert "Cache-Control" not in get(deployment, web, webroot.INDEX)[1]


def test_redirect_forbidden_and_missing(deployment, web):
    status, headers, _ = get(deployment, web, REDIRECT)
    assert status == 301 and headers["Location"] == webroot.INDEX
    assert get(deployment, web, webroot.FORBIDDEN)[0] == 403
    assert get(deployment, web, "/private/")[0] == 403
    assert get(deployment, web, "/missing.html")[0] == 404


@pytest.mark.parametrize("method", ["POST", "DELETE", "PUT"])
def test_a_method_nginx_refuses_on_a_file_is_405_with_allow(deployment, web, method):
    answer = curl(deployment, "-X", method, web.url(webroot.INDEX))  # curl: an independent client
    assert answer.startswith("HTTP/1.1 405 ") and re.search(r"^Allow: GET, HEAD$", answer, re.M), answer
    status, headers, _ = get(deployment, web, webroot.INDEX, method=method)
    assert status == 405 and headers["Allow"] == "GET, HEAD"
    assert "Allow" not in get(deployment, web, webroot.INDEX)[1]  # only the refusal names it


def test_the_cookie_path_sets_one_and_echoes_what_the_client_sent(deployment, web):
    status, headers, body = get(deployment, web, COOKIE)
    assert status == 200 and headers["Set-Cookie"] == "session=abc; Path=/" and body == b"Cookie: \n"
    status, _, body = get(deployment, web, COOKIE, headers={"Cookie": "session=abc; theme=dark"})
    assert status == 200 and body == b"Cookie: session=abc; theme=dark\n"


def test_requests_on_one_connection_share_its_id_until_keepalive_requests_closes_it(deployment, web):
    conn = web.connection(deployment.node("client"))
    conn.connect()
    kept = conn.sock.dup()  # http.client closes its socket on "Connection: close"; this copy sees the server's FIN
    try:
        answers = []
        for path in (webroot.INDEX, webroot.CACHED, webroot.BIG):
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            answers.append((response.status, response.headers["Connection"]))
        assert answers == [(200, "keep-alive"), (200, "keep-alive"), (200, "close")]
        kept.settimeout(3.0)
        assert kept.recv(1) == b""  # the server closed after its third answer
        conn.request("GET", webroot.INDEX)  # http.client opens a new connection
        conn.getresponse().read()
    finally:
        kept.close()
        conn.close()
    log = web.wait_log(4)
    assert [(e.path, e.connection_requests, e.status) for e in log] == [
        (webroot.INDEX, 1, 200), (webroot.CACHED, 2, 200), (webroot.BIG, 3, 200), (webroot.INDEX, 1, 200)]
    assert log[0].connection == log[1].connection == log[2].connection != log[3].connection
    assert log[0].client[0] == "10.0.1.10" and log[0].client == log[2].client != log[3].client
    assert log[2].body_bytes_sent == len(webroot.files()[webroot.BIG])


def test_an_idle_connection_is_closed_after_keepalive_timeout(deployment):
    with NginxServer(deployment.node("web"), NginxConfig(keepalive_timeout=0.3)) as web:
        conn = web.connection(deployment.node("client"))
        conn.connect()
        kept = conn.sock.dup()
        try:
            conn.request("GET", webroot.INDEX)
            response = conn.getresponse()
            response.read()
            assert response.headers["Connection"] == "keep-alive"
            kept.settimeout(3.0)
            assert kept.recv(1) == b""  # nginx closed the idle connection
        finally:
            kept.close()
            conn.close()


def test_a_changed_file_gets_200_with_a_new_etag(deployment, web):
    old = web.etag(webroot.INDEX)
    content = webroot.files()[webroot.INDEX].replace(b"protolab web", b"protolab WEB")  # the same size
    new = web.change_file(webroot.INDEX, content)
    assert new != old
    status, headers, body = get(deployment, web, webroot.INDEX, headers={"If-None-Match": old})
    assert (status, headers["ETag"], body) == (200, new, content)
    assert headers["Last-Modified"] == "Tue, 14 Nov 2023 22:14:20 GMT"  # one CHANGE_STEP later
    assert get(deployment, web, webroot.INDEX, headers={"If-None-Match": new})[0] == 304


def nginx_default_places() -> list[Path]:
    """Where this nginx build writes when its configuration does not say otherwise (nginx -V)."""
    built = subprocess.run(["nginx", "-V"], capture_output=True, text=True).stderr
    places = [Path(p) for p in re.findall(r"--[a-z-]*path=(/\S+)", built)]
    places += [Path(p) / "logs" for p in re.findall(r"--prefix=(/\S+)", built)]
    return places


def snapshot(places: list[Path]) -> dict[str, tuple]:
    """Each place and, for a folder of nginx's own, everything in it: (size, mtime) or absent."""
    seen: dict[str, tuple] = {}
    for place in places:
        for path in [place, *(place.rglob("*") if place.is_dir() else ())]:
            try:
                st = path.stat()
                seen[str(path)] = (st.st_size, st.st_mtime_ns)
            except OSError:
                seen[str(path)] = ()
    return seen


def test_nothing_is_left_running_and_nothing_written_outside_the_work_dir(deployment):
    places = nginx_default_places()
    assert any(str(p).startswith("/var/log/nginx") for p in places)  # the oracle found nginx's own defaults
    before = snapshot(places)
    with NginxServer(deployment.node("web"), CONFIG) as web:
        assert get(deployment, web, webroot.INDEX)[0] == 200 and get(deployment, web, "/missing.html")[0] == 404
        web.wait_log(2)
        family = family_of(web)
        opened = [os.readlink(f"/proc/{pid}/fd/{fd}") for pid, _ in family for fd in os.listdir(f"/proc/{pid}/fd")]
        files = [path for path in opened if path.startswith("/")]
        assert files and all(Path(f).is_relative_to(web.directory) or f == "/dev/null" for f in files), files
        assert {"access.log", "error.log"} <= {Path(f).name for f in files}
    assert len(family) == 2 and not any(alive(pid, start) for pid, start in family)
    assert deployment.record.processes == []
    assert not web.directory.exists()
    assert snapshot(places) == before


def test_an_interrupt_stops_nginx(deployment):
    family = []
    with pytest.raises(KeyboardInterrupt):
        with NginxServer(deployment.node("web"), CONFIG) as web:
            family = family_of(web)
            raise KeyboardInterrupt
    assert len(family) == 2 and not any(alive(pid, start) for pid, start in family)
    assert deployment.record.processes == []


def test_a_port_already_taken_is_a_one_line_error_and_nothing_is_left(deployment):
    with TcpListener(deployment.node("web"), 80):
        with pytest.raises(ServiceError) as info:
            with NginxServer(deployment.node("web"), CONFIG):
                pass
    message = str(info.value)
    assert message == "nginx in node web could not start: bind() to 10.0.2.80:80 failed (98: Address already in use)"
    assert "\n" not in message
    assert deployment.record.processes == []
    assert not (deployment.workdir / "http" / "web").exists()


def test_the_readiness_probe_is_not_in_the_access_log(deployment, web):
    assert web.ready_after is not None and (web.directory / "access.log").is_file()
    assert web.access_log() == []
    get(deployment, web, webroot.INDEX)
    assert [e.path for e in web.wait_log(1)] == [webroot.INDEX]


def test_a_docroot_the_worker_cannot_read_fails_the_probe_with_a_one_line_error(deployment, monkeypatch):
    write = webroot.write_docroot

    def unreadable(root: Path) -> None:
        write(root)
        webroot.file_of(root, webroot.INDEX).chmod(0o600)  # root's only: the www-data worker gets EACCES

    monkeypatch.setattr(webroot, "write_docroot", unreadable)
    with pytest.raises(ServiceError) as info:
        with NginxServer(deployment.node("web"), CONFIG, ready_timeout=0.5):
            pass
    assert str(info.value) == "nginx in node web could not start: it answered 403 to GET /.ready (a copy of /index.html) instead of 200"
    assert deployment.record.processes == []
