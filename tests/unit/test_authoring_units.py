"""Pure parts of authoring: the skeleton's name rule and files, and the one client class."""

from __future__ import annotations

import pytest

from protolab.kernel.tcpwatch import NotingHost, WatchedHost
from protolab.lab.catalog import load_lab_file
from protolab.lab.skeleton import SkeletonError, write_skeleton
from protolab.live.host import Host
from protolab.live.sockets import SocketHost

STUDENT_API = {"name", "iface", "ip", "mac", "gateway", "send", "sr1", "recv", "udp_socket", "tcp_socket"}


def public(cls) -> set[str]:
    return {n for n in dir(cls) if not n.startswith("_")}


def test_the_skeleton_loads_with_its_facts_declared(tmp_path):
    lab_file, test_file = write_skeleton("first_ping", tmp_path)
    lab = load_lab_file(lab_file)
    assert (lab.name, lab.student_name, dict(lab.params)) == ("first_ping", "ping", {"ttl": 64})
    assert "LAB_FILE = Path(__file__).with_name(\"first_ping.py\")" in test_file.read_text()


@pytest.mark.parametrize("name", ["", "Ping", "9lives", "with-dash", "test_me", "import", "x" * 41])
def test_a_bad_name_writes_nothing(tmp_path, name):
    with pytest.raises(SkeletonError, match="is not a lab name"):
        write_skeleton(name, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_test_file_is_refused_too(tmp_path):
    (tmp_path / "test_mine.py").write_text("")
    with pytest.raises(SkeletonError, match="test_mine.py already exists"):
        write_skeleton("mine", tmp_path)
    assert not (tmp_path / "mine.py").exists()


def test_every_method_a_student_may_call_is_on_host_and_documented():
    assert {"send", "sr1", "recv", "udp_socket", "tcp_socket"} <= public(Host)
    for word in STUDENT_API:
        assert word in Host.__doc__, word
    assert SocketHost is Host


def test_the_watched_host_a_student_gets_adds_nothing_to_call():
    # in the sandbox a WatchedHost becomes a NotingHost: the same calls as any Host
    assert public(NotingHost) == public(Host)
    assert issubclass(WatchedHost, Host)
