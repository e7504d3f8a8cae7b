import io
from dataclasses import replace

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest
from rich.cells import cell_len
from rich.console import Console

from protolab.expect.trace import Frame, Trace, make_trace
from protolab.expect.verdict import ItemResult, Status, Verdict
from protolab.report import print_ladder, render_ladder
from protolab.report.labels import Labeler, flag_words
from protolab.report.ladder import fit_marks, mark_text, nodes_of
from protolab.wire.dnsmsg import dns_layer
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
        assert len(lines) == 1 + 1 + 10 + 1 + 1  # title, header, frames, footer, what was shortened
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
    # the ARP reply went to the client's MAC: an unknown receiver, not a broadcast
    assert "(broadcast)" not in by_index[2] and "[isp → ?]" in by_index[2]


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
    assert len(render(render_ladder(odd, None, ["a-node-with-a-very-long-name", "b"]), width=80)) == 5 + 1  # + what was shortened
    by_index = rows(render(render_ladder(odd, None, ["a-node-with-a-very-long-name", "b"])))
    assert "ethertype 0x88b5" in by_index[1] and "something else" in by_index[2]
    assert "no flags seq=0 (7)" in by_index[3]


def test_print_ladder():
    console = Console(record=True, width=120, file=io.StringIO(), color_system=None)
    verdict = Verdict("x", Status.PASS, (ItemResult("step", "first", Status.PASS, frames=(1,)),))
    print_ladder(console, sample_trace(), verdict, COLUMNS, title="t")
    assert "✔ first" in console.export_text()


# --- widths: one line per frame, what matters stays, nothing shortened at full width ------------

WIDTHS = (60, 80, 100, 120)


def render_full(renderable, width: int = 80) -> list[str]:
    console = Console(record=True, width=width, file=io.StringIO(), color_system=None)
    console.print(renderable, soft_wrap=True)
    return console.export_text().splitlines()


def ladder_lines(trace, verdict, columns, width):
    """The ladder at `width` columns, or at full width (width None)."""
    if width is None:
        return render_full(render_ladder(trace, verdict, columns, full_width=True))
    return render(render_ladder(trace, verdict, columns), width=width)


def assert_essentials(trace, verdict, lines, width):
    by_index = rows(lines)
    assert sorted(by_index) == [f.index for f in trace]  # every frame, one line each
    if width is not None:
        assert all(cell_len(line) <= width for line in lines)
    marks = verdict.marks()
    for frame in trace:
        line = by_index[frame.index]
        assert line.split()[0] == f"#{frame.index}"
        if frame.has("tcp"):
            flags = frame.get("tcp.flags")
            assert f" {flag_words(flags)} seq=" in line, (width, line)
            if "A" in flags:
                assert " ack=" in line, (width, line)
        items = marks.get(frame.index, [])
        assert line.count("✔") == sum(i.status is Status.PASS for i in items), (width, line)
        assert line.count("✘") == sum(i.status is Status.FAIL for i in items), (width, line)


@pytest.mark.parametrize("width", WIDTHS + (None,))
def test_at_every_width_each_frame_keeps_its_number_flags_numbers_and_marks(width):
    trace, verdict = sample_trace(), sample_verdict()
    assert_essentials(trace, verdict, ladder_lines(trace, verdict, COLUMNS, width), width)


def label_column(lines: list[str]) -> dict[int, str]:
    """Frame number → the text of its label column (from "frame" to "link" in the header)."""
    header = next(line for line in lines if " frame " in line and " link" in line)
    start, end = header.index(" frame ") + 1, header.index(" link") + 1
    return {i: line[start:end].rstrip() for i, line in rows(lines).items()}


def test_full_width_shortens_nothing():
    trace, verdict = sample_trace(), sample_verdict()
    lines = ladder_lines(trace, verdict, COLUMNS, None)
    assert "…" not in "\n".join(lines)
    assert max(cell_len(line) for line in lines) > 80  # wider than the console it was printed on
    assert not any("shortened" in line for line in lines)
    labeler = Labeler(trace.frames)
    labels = label_column(lines)
    for frame in trace:
        assert labels[frame.index] == labeler.label(frame) + (" (broadcast)" if frame.broadcast else "")
    assert all(c in lines[0] for c in COLUMNS)
    by_index = rows(lines)
    assert by_index[10].endswith("✘ no retransmission") and "✔ syn forwarded" in by_index[4]


def test_a_narrow_ladder_says_it_was_shortened_and_how_to_see_all():
    trace, verdict = sample_trace(), sample_verdict()
    for width in (60, 80, 100):
        last = render(render_ladder(trace, verdict, COLUMNS), width=width)[-1]
        assert "shortened" in last and "widen the terminal" in last
    wide = render(render_ladder(trace, verdict, COLUMNS), width=200)
    assert not any("shortened" in line for line in wide) and "…" not in "\n".join(wide)


def test_lanes_give_way_first_then_links_then_absolute_numbers():
    trace, verdict = sample_trace(), sample_verdict()
    at = {w: rows(render(render_ladder(trace, verdict, COLUMNS), width=w)) for w in (120, 100, 80)}
    assert "SYN-ACK seq=0 (5000) ack=1 (1001)" in at[100][5]  # the lanes got closer, the numbers stay
    header_80 = render(render_ladder(trace, verdict, COLUMNS), width=80)[0]
    assert "client" not in header_80 and "cli" in header_80  # lane names shortened at 80
    assert "SYN-ACK seq=0 (5000) ack=1 (1001)" in at[80][5]


# --- DNS: long labels, six lanes ------------------------------------------------------------

DNS_COLUMNS = ("client", "router", "resolver", "root", "tld", "auth")
DNS_MACS = {"client": "02:00:00:00:01:0a", "router": "02:00:00:00:01:01", "resolver": "02:00:00:00:02:53",
            "root": "02:00:00:00:02:11", "tld": "02:00:00:00:02:12", "auth": "02:00:00:00:02:13"}
DNS_IPS = {"client": "10.0.1.10", "root": "10.0.2.11", "tld": "10.0.2.12", "auth": "10.0.2.13"}


def dns_message(name, qtype="A", ident=4660, *, answer=(), referral=None, glue=(), aa=False, rcode=None):
    query = dns.message.make_query(name, qtype, use_edns=False)
    query.flags &= ~dns.flags.RD
    query.id = ident
    if answer == () and referral is None and rcode is None:
        return query
    response = dns.message.make_response(query)
    if aa:
        response.flags |= dns.flags.AA
    for value in answer:
        response.answer.append(dns.rrset.from_text(name, 300, "IN", qtype, value))
    if referral is not None:
        zone, servers = referral
        for server in servers:
            response.authority.append(dns.rrset.from_text(zone, 3600, "IN", "NS", server))
    for owner, address in glue:
        response.additional.append(dns.rrset.from_text(owner, 3600, "IN", "A", address))
    if rcode is not None:
        response.set_rcode(rcode)
        response.authority.append(dns.rrset.from_text(
            "example.lab.", 300, "IN", "SOA", "ns1.example.lab. admin.example.lab. 1 3600 600 86400 300"))
    return response


def dns_frame(time, link, sender, receiver, src, dst, message):
    layer = dns_layer(message.to_wire(), "udp")
    forward = not layer["qr"]
    return Frame(0, time, link, sender, receiver, {
        "eth": {"src": DNS_MACS[sender], "dst": DNS_MACS[receiver], "type": 0x0800},
        "ip": {"src": DNS_IPS[src], "dst": DNS_IPS[dst], "ttl": 64, "proto": 17},
        "udp": {"sport": 40000 if forward else 53, "dport": 53 if forward else 40000, "len": 40},
        "dns": layer,
    })


def dns_trace() -> Trace:
    """The client walks from the root: each question crosses lan1 and lan2, as does each response."""
    name = "www.example.lab."
    hops = [
        ("root", dns_message(name, ident=840), dns_message(name, ident=840, referral=("lab.", ["ns1.nic.lab."]),
                                                             glue=[("ns1.nic.lab.", "10.0.2.12")])),
        ("tld", dns_message(name, ident=53177), dns_message(name, ident=53177, referral=(
            "example.lab.", ["ns1.example.lab.", "ns2.example.lab."]), glue=[("ns1.example.lab.", "10.0.2.13")])),
        ("auth", dns_message(name, ident=59588), dns_message(name, ident=59588, answer=["10.0.2.80", "10.0.2.81"],
                                                              aa=True)),
        ("auth", dns_message("nope.example.lab.", ident=7), dns_message("nope.example.lab.", ident=7, aa=True,
                                                                         rcode=dns.rcode.NXDOMAIN)),
    ]
    frames, t = [], 0.0
    for server, question, response in hops:
        frames += [dns_frame(t, "lan1", "client", "router", "client", server, question),
                   dns_frame(t + 0.0001, "lan2", "router", server, "client", server, question),
                   dns_frame(t + 0.0002, "lan2", server, "router", server, "client", response),
                   dns_frame(t + 0.0003, "lan1", "router", "client", server, "client", response)]
        t += 0.001
    return make_trace(frames, links=("lan1", "lan2"))


def dns_verdict() -> Verdict:
    return Verdict("dns", Status.FAIL, (
        ItemResult("step", "1. ask root about www.example.lab. A", Status.PASS, frames=(1,)),
        ItemResult("step", "1. root refers to lab.", Status.PASS, frames=(3,)),
        ItemResult("step", "2. ask tld about www.example.lab. A (a name server's address)", Status.PASS, frames=(5,)),
        ItemResult("step", "2. tld refers to example.lab.", Status.FAIL, frames=(7,)),
        ItemResult("step", "3. auth answers (AA)", Status.PASS, frames=(11,)),
    ))


@pytest.mark.parametrize("width", WIDTHS + (None,))
def test_dns_labels_keep_the_question_and_the_kind_of_answer(width):
    trace, verdict = dns_trace(), dns_verdict()
    lines = ladder_lines(trace, verdict, DNS_COLUMNS, width)
    assert_essentials(trace, verdict, lines, width)
    by_index = rows(lines)
    for frame in trace:
        line, layer = by_index[frame.index], frame.layers["dns"]
        if not layer["qr"]:
            assert f"query A {layer['qname']}" in line or f"A? {layer['qname']}" in line, (width, line)
    for i in (3, 4):
        assert "referral → lab." in by_index[i], (width, by_index[i])
    for i in (7, 8):  # at 60 columns, with six lanes, the zone may be cut; from 80 on it is whole
        assert "referral → example.l" in by_index[i], (width, by_index[i])
        assert width == 60 or "referral → example.lab." in by_index[i], (width, by_index[i])
    for i in (11, 12):
        assert "answer AA" in by_index[i], (width, by_index[i])
    for i in (15, 16):
        assert "NXDOMAIN AA" in by_index[i], (width, by_index[i])


def test_dns_at_full_width_and_at_100_columns():
    trace, verdict = dns_trace(), dns_verdict()
    full = ladder_lines(trace, verdict, DNS_COLUMNS, None)
    assert "…" not in "\n".join(full)
    labels = label_column(full)
    labeler = Labeler(trace.frames)
    assert all(labels[f.index] == labeler.label(f) for f in trace)
    assert labels[3] == "referral → lab. NS ns1.nic.lab. (glue 10.0.2.12) id 0x0348"
    assert labels[7] == "referral → example.lab. NS ns1.example.lab., ns2.example.lab. (glue 10.0.2.13) id 0xcfb9"
    assert labels[11] == "answer AA: A 10.0.2.80, A 10.0.2.81 id 0xe8c4"
    assert labels[15] == "NXDOMAIN AA (SOA of example.lab.) id 0x0007"
    assert all(name in full[0] for name in DNS_COLUMNS)
    at_100 = rows(render(render_ladder(trace, verdict, DNS_COLUMNS), width=100))
    assert "query A www.example.lab. id 0x0348" in at_100[1]
    assert "answer AA: A 10.0.2.80, A 10.0.2.81 " in at_100[11]  # without the id
    at_80 = rows(render(render_ladder(trace, verdict, DNS_COLUMNS), width=80))
    assert "referral → lab. (glue)" in at_80[3] and "answer AA: 2 A" in at_80[11]
    assert "✘ 2. tld refers" in at_100[7]


# --- who sent it, who got it ----------------------------------------------------------------

def test_an_unknown_receiver_is_not_a_broadcast():
    frames = list(sample_trace())
    frames[2] = replace(frames[2], receiver=None)  # SYN to the router's MAC, whose owner is not known
    frames[6] = replace(frames[6], sender="?")  # ACK from a node the capture could not name
    frames[7] = replace(frames[7], sender=None)
    trace = Trace(tuple(frames), ("lan1", "lan2"))
    for lines in (render(render_ladder(trace, None, COLUMNS), width=140),
                  render_full(render_ladder(trace, None, COLUMNS, full_width=True))):
        by_index = rows(lines)
        x = lanes(lines)
        syn = by_index[3]
        assert "[to ?] SYN seq=0" in syn and "(broadcast)" not in syn
        diagram = syn[syn.index("ms") + 2:syn.index("[to ?]")].strip()
        assert syn[x["client"]] == "●" and diagram.startswith("◀") and "▶" not in diagram  # to the nearest edge
        assert "[from ?] ACK seq=1" in by_index[7] and "[from ?] ACK seq=1" in by_index[8]
        assert "○" in by_index[7]
        arp = by_index[1]  # a real broadcast (ff:ff:ff:ff:ff:ff)
        assert trace[1].broadcast and "(broadcast)" in arp and "[to ?]" not in arp


def test_nodes_of_leaves_out_the_unknown():
    frames = [replace(f, sender="?") if f.index == 3 else f for f in sample_trace()]
    assert "?" not in nodes_of(frames) and nodes_of(frames) == ("client", "router", "web")


def test_marks_keep_every_symbol_when_names_are_shortened():
    items = [ItemResult("step", "a step with a long name", Status.PASS, frames=(1,)),
             ItemResult("never", "no rst from the client", Status.FAIL, frames=(1,))]
    for width in (40, 20, 12, 8, 3):
        text = fit_marks(items, width).plain
        assert cell_len(text) <= width and text.count("✔") == 1 and text.count("✘") == 1, (width, text)
    assert fit_marks(items, 100).plain == "✔ a step with a long name  ✘ no rst from the client"
