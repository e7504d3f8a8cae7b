"""A student may think, sleep and print between segments: the labs leave room for it, and say how much.

teardown: web's minimum retransmission timeout towards the client is set long
(kernel/rto.py) for the run and put back after it, so a second's pause before
every segment passes. handshake: the kernel's first SYN-ACK timeout (1 s) has no
route option, so a pause well under it passes and one over it is named.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from protolab.backends.netns import NetnsBackend
from protolab.expect import Status
from protolab.kernel.rto import RtoMin, route_rto_min_ms
from protolab.lab.catalog import load_lab
from protolab.lab.runner import RunOptions, run_lab
from protolab.topology import load
from tests.root.labrun import explain, item, run_fresh

pytestmark = pytest.mark.root
SOLUTIONS = Path(__file__).parent / "solutions"


@pytest.mark.parametrize("closer", ["client", "server"])
def test_teardown_with_a_second_of_pause_before_every_segment_passes(tmp_path, closer):
    result = run_fresh(load_lab("teardown"), tmp_path, SOLUTIONS, "teardown/pauses_between_segments.py", closer=closer)
    assert result.verdict.status is Status.PASS, explain(result.verdict)
    assert not any(f.get("tcp.retransmission") for f in result.trace if f.has("tcp"))
    mine = [f.time for f in result.trace if f.sender == "client" and f.has("tcp")][2:]  # after the lab's SYN and ACK
    assert len(mine) >= 3 and all(b - a >= 0.9 for a, b in zip(mine, mine[1:]))  # it did pause


def test_handshake_pausing_half_a_second_before_each_segment_passes(tmp_path):
    result = run_fresh(load_lab("handshake"), tmp_path, SOLUTIONS, "handshake/pauses.py")
    assert result.verdict.status is Status.PASS, explain(result.verdict)


def test_handshake_pausing_longer_than_the_syn_ack_timeout_is_named(tmp_path):
    slow = tmp_path / "slow.py"
    slow.write_text((SOLUTIONS / "handshake" / "pauses.py").read_text().replace("PAUSE = 0.5", "PAUSE = 1.3"))
    result = run_fresh(load_lab("handshake"), tmp_path / "out", tmp_path, "slow.py")
    assert item(result.verdict, "no retransmission").status is Status.FAIL  # web sent its SYN-ACK again


@pytest.fixture(scope="module")
def kept_up():
    d = NetnsBackend().deploy(load())
    try:
        yield d
    finally:
        d.teardown()


def test_rto_min_is_set_for_the_peer_only_and_put_back(kept_up):
    web, client, peer = kept_up.node("web"), str(kept_up.node("client").node.ip), str(kept_up.node("peer").node.ip)
    before = web.run(["ip", "route"]).stdout
    with RtoMin(web, client, 2500):
        assert route_rto_min_ms(web, client) == 2500 and route_rto_min_ms(web, peer) is None
    assert web.run(["ip", "route"]).stdout == before
    with pytest.raises(ZeroDivisionError):
        with RtoMin(web, client, 2500):
            1 / 0  # an error in the lab
    assert web.run(["ip", "route"]).stdout == before


def test_a_host_route_that_was_there_is_put_back(kept_up):
    web, client = kept_up.node("web"), str(kept_up.node("client").node.ip)
    assert web.run(["ip", "route", "add", f"{client}/32", "via", "10.0.2.1", "dev", "eth0", "rto_min", "300ms"]).returncode == 0
    try:
        with RtoMin(web, client, 2500):
            assert route_rto_min_ms(web, client) == 2500
        assert route_rto_min_ms(web, client) == 300
    finally:
        web.run(["ip", "route", "del", f"{client}/32"])


def test_teardown_on_a_kept_up_network_leaves_web_routes_as_they_were(kept_up, tmp_path):
    web = kept_up.node("web")
    before = web.run(["ip", "route"]).stdout
    raises = tmp_path / "raises.py"
    raises.write_text("def send_and_close(client, conn, data, closer):\n    raise ValueError('lost my notes')\n")
    for solution in (None, raises):  # the reference, and a student's code that raises
        result = run_lab(load_lab("teardown"), RunOptions(solution=solution, out_dir=tmp_path / ("raises" if solution else "ref"),
                                                          deployment=kept_up))
        assert result.reused
        assert web.run(["ip", "route"]).stdout == before
