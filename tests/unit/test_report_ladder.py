import io
from dataclasses import replace

from rich.cells import cell_len
from rich.console import Console

from protolab.expect.trace import Frame, Trace, make_trace
from protolab.expect.verdict import ItemResult, Status, Verdict
from protolab.report import print_ladder, render_ladder
from protolab.report.ladder import mark_text
from tests.unit.report_samples import COLUMNS, sample_trace, sample_verdict


def render(renderable, width: int = 120) -> list[str]:
    console = Console(record=True, width=width, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text().splitlines()


def rows(lines: list[str]) -> dict[int, str]:
    """Frame number (from 1) → its line."""
    out = {}
    for line in lines:
        head = line.split(maxsplit=1)[0] if line.strip() else ""
        if head.startswith("#") and head[1:].isdigit():
            out[int(head[1:])] = line
    return out


def lanes(lines: list[str], columns=COLUMNS) -> dict[str, int]:
    """Column name → x of its lane, from the header line (names are centred on lanes)."""
    header = next(line for line in lines if all(c in line for c in columns))
    return {c: header.index(c) + len(c) // 2 for c in columns}


def test_relative_sequence_numbers_with_absolute_in_brackets():
    by_index = rows(render(render_ladder(sample_trace(), None, COLUMNS)))
    assert "SYN seq=0 (1000)" in by_index[3]
    assert "SYN-ACK seq=0 (5000) ack=1 (1001)" in by_index[5]
    assert "ACK seq=1 (1001) ack=1 (5001)" in by_index[7]
    assert "PSH-ACK seq=1 (1001) ack=1 (5001) len=5" in by_index[9]
    assert "[retransmission]" in by_index[10] and "[retransmission]" not in by_index[9]


def test_arp_broadcast_spans_the_row():
    line = rows(render(render_ladder(sample_trace(), None, COLUMNS)))[1]
    assert "ARP who-has 10.0.1.1 tell 10.0.1.10 (broadcast)" in line
    diagram = line[line.index("ms") + 2:line.index("ARP")].strip()
    assert diagram.startswith("◀") and diagram.endswith("▶") and "●" in diagram


def test_arrows_go_between_the_right_lanes():
    lines = render(render_ladder(sample_trace(), None, COLUMNS))
    x = lanes(lines)
    by_index = rows(lines)
    syn_in = by_index[3]  # client → router
    assert syn_in[x["client"]] == "●" and syn_in[x["router"] - 1] == "▶" and syn_in[x["router"]] == "│"
    syn_out = by_index[4]  # router → web
    assert syn_out[x["router"]] == "●" and syn_out[x["web"] - 1] == "▶"
    synack = by_index[5]  # web → router
    assert synack[x["web"]] == "●" and synack[x["router"] + 1] == "◀"


def test_link_names_make_the_hop_visible():
    by_index = rows(render(render_ladder(sample_trace(), None, COLUMNS)))
    assert by_index[3].split()[-1] == "lan1"
    assert by_index[4].split()[-1] == "lan2"
    assert by_index[5].split()[-1] == "lan2"
    assert by_index[6].split()[-1] == "lan1"


def test_marks_next_to_the_right_frames():
    by_index = rows(render(render_ladder(sample_trace(), sample_verdict(), COLUMNS)))
    assert by_index[3].endswith("✔ syn")
    assert "✔ syn forwarded" in by_index[4]
    assert "✔ syn-ack" in by_index[5] and "✔ syn-ack" in by_index[6]
    assert by_index[10].endswith("✘ no retransmission")
    for i in (1, 2, 8, 9):
        assert "✔" not in by_index[i] and "✘" not in by_index[i]


def test_never_rule_that_fired_is_red_and_pass_is_green():
    text = mark_text([ItemResult("step", "syn", Status.PASS, frames=(1,)),
                      ItemResult("never", "no rst", Status.FAIL, frames=(1,))])
    assert text.plain == "✔ syn  ✘ no rst"
    assert [str(s.style) for s in text.spans] == ["green", "red"]


def test_title_header_and_footer():
    lines = render(render_ladder(sample_trace(), None, COLUMNS, title="handshake"))
    assert lines[0] == "handshake"
    assert all(c in lines[1] for c in COLUMNS)
    assert "10 frames" in lines[-1] and "lan1, lan2" in lines[-1]


def test_width_80_keeps_one_line_per_frame():
    for width in (80, 60, 40):
        lines = render(render_ladder(sample_trace(), sample_verdict(), COLUMNS, title="t"), width=width)
        assert len(lines) == 1 + 1 + 10 + 1  # title, header, frames, footer
        assert all(cell_len(line) <= width for line in lines)
        assert sorted(rows(lines)) == list(range(1, 11))
    by_index = rows(render(render_ladder(sample_trace(), sample_verdict(), COLUMNS), width=80))
    assert "SYN seq=0" in by_index[3] and "✔ syn" in by_index[3]
    assert "SYN-ACK seq=0" in by_index[5]  # absolute numbers give way first
    assert "✘" in by_index[10]
    assert all(by_index[i].count("●") == 1 for i in range(1, 11))


def test_unknown_nodes_are_drawn_at_the_edge_and_named():
    frames = list(sample_trace())
    frames[2] = replace(frames[2], sender="isp")
    frames[3] = replace(frames[3], receiver="dns")
    frames[4] = replace(frames[4], sender=None)
    frames[6] = replace(frames[6], sender="x", receiver="y")
    frames[1] = replace(frames[1], sender="isp", receiver=None)
    trace = Trace(tuple(frames), ("lan1", "lan2"))
    by_index = rows(render(render_ladder(trace, sample_verdict(), COLUMNS), width=140))
    assert "[from isp] SYN" in by_index[3] and "○" in by_index[3]
    assert "[to dns] SYN" in by_index[4]
    assert "[from ?]" in by_index[5]
    assert "[x → y]" in by_index[7]
    assert "(broadcast)" in by_index[2] and "[from isp]" in by_index[2]


def test_lanes_default_to_the_nodes_of_the_trace():
    lines = render(render_ladder(sample_trace(), None, []))
    assert lanes(lines) and len(rows(lines)) == 10


def test_degenerate_inputs_do_not_crash():
    render(render_ladder(Trace(()), None, ["a"]))
    render(render_ladder(Trace(()), None, []))
    odd = make_trace([
        Frame(0, 0.0, "lan1", "a", "a", {"eth": {"type": 0x88B5}}),
        Frame(0, 0.1, "a-link-with-a-long-name", "a", "b", {}, summary="something else"),
        Frame(0, 0.2, "lan1", "a-node-with-a-very-long-name", "b", {"tcp": {"seq": 7, "flags": ""}}),
    ])
    assert len(render(render_ladder(odd, None, ["a-node-with-a-very-long-name", "b"]), width=80)) == 5
    by_index = rows(render(render_ladder(odd, None, ["a-node-with-a-very-long-name", "b"])))
    assert "ethertype 0x88b5" in by_index[1] and "something else" in by_index[2]
    assert "no flags seq=0 (7)" in by_index[3]


def test_print_ladder():
    console = Console(record=True, width=120, file=io.StringIO(), color_system=None)
    verdict = Verdict("x", Status.PASS, (ItemResult("step", "first", Status.PASS, frames=(1,)),))
    print_ladder(console, sample_trace(), verdict, COLUMNS, title="t")
    assert "✔ first" in console.export_text()
