import ipaddress
import json

from protolab.expect.trace import Frame, make_trace
from protolab.expect.verdict import ItemResult, Status, Verdict
from protolab.report import verdict_to_dict, write_json
from protolab.report.json_report import HEX_LIMIT, jsonable
from tests.unit.report_samples import sample_trace, sample_verdict


def test_round_trips_through_json():
    data = verdict_to_dict(sample_verdict(), sample_trace())
    assert json.loads(json.dumps(data)) == data
    assert list(data) == ["format", "expectation", "status", "passed", "items", "bindings", "notes", "trace"]
    assert data["status"] == "FAIL" and data["passed"] is False
    assert data["bindings"] == {"isn": 1000, "server_isn": 5000}
    assert data["notes"] == ["capture stopped after 0.3 s"]
    never = next(i for i in data["items"] if i["kind"] == "never")
    assert never == {"kind": "never", "name": "no retransmission", "status": "FAIL", "frames": [10],
                     "messages": ["frame #10 repeats seq 1001 len 5 of frame #9"]}


def test_frames_with_layers():
    data = verdict_to_dict(sample_verdict(), sample_trace())
    frames = data["trace"]["frames"]
    assert data["trace"]["links"] == ["lan1", "lan2"] and data["trace"]["drops"] == 0
    assert len(frames) == 10
    first = frames[0]
    assert list(first) == ["index", "time", "link", "sender", "receiver", "summary", "layers"]
    assert first["receiver"] is None and first["link"] == "lan1" and first["sender"] == "client"
    assert list(first["layers"]) == ["eth", "arp"]
    data_seg = frames[8]["layers"]
    assert list(data_seg) == ["eth", "ip", "tcp"]
    assert data_seg["tcp"]["payload"] == {"len": 5, "hex": b"hello".hex()}
    assert data_seg["tcp"]["retransmission"] is False and frames[9]["layers"]["tcp"]["retransmission"] is True


def test_odd_values_become_json():
    assert jsonable(ipaddress.ip_address("10.0.0.1")) == "10.0.0.1"
    assert jsonable(Status.PASS) == "PASS"
    assert jsonable(float("nan")) == "nan"
    assert jsonable({1: (1, 2), "s": {3}}) == {"1": [1, 2], "s": [3]}
    big = jsonable(bytes(HEX_LIMIT + 1))
    assert big["len"] == HEX_LIMIT + 1 and big["truncated"] is True and len(big["hex"]) == 2 * HEX_LIMIT
    trace = make_trace([Frame(0, 0.0, "l", "a", "b", {"x": {"addr": ipaddress.ip_address("::1")}})])
    verdict = Verdict("e", Status.PASS, (ItemResult("fact", "f", Status.PASS),),
                      bindings={"ip": ipaddress.ip_address("10.0.0.2"), "raw": b"\x01"})
    data = verdict_to_dict(verdict, trace)
    json.dumps(data)
    assert data["bindings"] == {"ip": "10.0.0.2", "raw": {"len": 1, "hex": "01"}}
    assert data["trace"]["frames"][0]["layers"] == {"x": {"addr": "::1"}}
    assert "trace" not in verdict_to_dict(verdict, None)


def test_write_json(tmp_path):
    path = write_json(tmp_path / "out" / "verdict.json", sample_verdict(), sample_trace(), extra={"lab": "tcp"})
    again = write_json(tmp_path / "again.json", sample_verdict(), sample_trace(), extra={"lab": "tcp"})
    text = path.read_text(encoding="utf-8")
    assert text == again.read_text(encoding="utf-8")  # stable output
    data = json.loads(text)
    assert data["extra"] == {"lab": "tcp"} and data["status"] == "FAIL"
