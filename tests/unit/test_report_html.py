"""The HTML report, read back with html.parser: structure, escaping, no external resources."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from protolab.expect.trace import Frame, Trace, make_trace
from protolab.expect.verdict import ItemResult, Status, Verdict
from protolab.report import Labeler, write_html
from protolab.report.html import annotate
from tests.unit.report_samples import COLUMNS, sample_trace, sample_verdict

HOSTILE = "</script><img src=x onerror=alert(1)>"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
URL_ATTRS = {"href", "src", "xlink:href", "action", "formaction", "srcset", "poster", "data", "background",
             "cite", "ping", "manifest", "icon"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)  # direct text, in order

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()

    def find(self, *, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[Node]:
        return [n for n in self.walk() if (tag is None or n.tag == tag) and (cls is None or cls in n.classes)
                and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def one(self, **kw) -> Node:
        found = self.find(**kw)
        assert len(found) == 1, f"{kw}: {len(found)} elements"
        return found[0]

    def all_text(self) -> str:
        return "".join(self.text) + "".join(c.all_text() for c in self.children)

    def shown_text(self) -> str:
        """The text without SVG tooltips (<title> inside <svg>)."""
        return "".join(self.text) + "".join(c.shown_text() for c in self.children if c.tag != "title")


class TreeBuilder(HTMLParser):
    """A small DOM from html.parser (it raises on nothing, so the test checks the nesting itself)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]
        self.mismatches: list[str] = []

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if self.stack[-1].tag != tag:
            self.mismatches.append(f"</{tag}> closes <{self.stack[-1].tag}>")
            while len(self.stack) > 1 and self.stack[-1].tag != tag:
                self.stack.pop()
        if len(self.stack) > 1:
            self.stack.pop()

    def handle_data(self, data):
        self.stack[-1].text.append(data)


def parse(text: str) -> Node:
    builder = TreeBuilder()
    builder.feed(text)
    builder.close()
    assert not builder.mismatches, builder.mismatches[:5]
    assert len(builder.stack) == 1, f"unclosed: {[n.tag for n in builder.stack]}"
    return builder.root


def write(tmp_path: Path, trace: Trace | None = None, verdict: Verdict | None = None, **kw) -> tuple[Path, str]:
    args = dict(title="TCP through a router", columns=COLUMNS, pcap="trace.pcapng", lab="handshake",
                run_id="20240501-120000-ab12", narration=("client connects to web:80",),
                notes=("parameters: port=80",))
    args.update(kw)
    path = write_html(tmp_path / "run" / "report.html", trace=trace if trace is not None else sample_trace(),
                      verdict=verdict if verdict is not None else sample_verdict(), **args)
    return path, path.read_text(encoding="utf-8")


def frames(doc: Node) -> list[Node]:
    return doc.find(cls="frame")


def data_of(doc: Node) -> dict:
    return json.loads(doc.one(tag="script", id="report-data").all_text())


def hostile_trace() -> Trace:
    """A DNS query for a name that is markup, with the same markup as payload, from a node named like it."""
    query = Frame(0, 0.0, "lan1", "client", "router", {
        "eth": {"src": "02:00:00:00:01:0a", "dst": "02:00:00:00:01:01", "type": 0x0800},
        "ip": {"src": "10.0.1.10", "dst": "10.0.2.53", "ttl": 64, "proto": 17},
        "udp": {"sport": 5353, "dport": 53, "len": 60, "payload": HOSTILE.encode()},
        "dns": {"id": 7, "qr": False, "rd": True, "qname": HOSTILE, "qtype": "A", "transport": "udp"},
    }, summary=HOSTILE)
    stranger = Frame(0, 0.001, "lan1", HOSTILE, "client", {"eth": {"src": "x", "dst": "y"}}, summary=HOSTILE)
    return make_trace([query, stranger], links=("lan1",))


def hostile_verdict() -> Verdict:
    item = ItemResult("step", HOSTILE, Status.FAIL, frames=(1, 2), messages=(HOSTILE,))
    return Verdict(HOSTILE, Status.FAIL, (item,), notes=(HOSTILE,))


def test_written_and_parses(tmp_path):
    path, text = write(tmp_path)
    assert path == tmp_path / "run" / "report.html" and path.is_file()
    assert text.startswith("<!DOCTYPE html>")
    doc = parse(text)
    assert doc.one(tag="meta", charset="utf-8")
    assert len(doc.find(tag="svg", id="ladder")) == 1
    assert doc.one(id="verdict-status").all_text() == "FAIL"
    assert "4/6 items passed" in doc.one(cls="facts").all_text()
    assert "20240501-120000-ab12" in doc.one(cls="facts").all_text()
    assert doc.one(tag="a", cls="pcap").attrs["href"] == "trace.pcapng"


def test_one_frame_element_per_frame_numbered_from_1(tmp_path):
    doc = parse(write(tmp_path)[1])
    numbers = [int(n.attrs["data-number"]) for n in frames(doc)]
    assert numbers == list(range(1, len(sample_trace()) + 1))
    assert all(n.tag == "g" for n in frames(doc))
    assert [f["index"] for f in data_of(doc)["frames"]] == numbers


def test_labels_are_the_terminal_labels(tmp_path):
    trace = sample_trace()
    doc = parse(write(tmp_path, trace)[1])
    labeler = Labeler(trace.frames)
    shown = [n.one(cls="label").all_text() for n in frames(doc)]
    assert shown == [annotate(f, labeler.label(f), COLUMNS) for f in trace]
    assert shown[2] == "SYN seq=0 (1000)"
    assert shown[0] == "ARP who-has 10.0.1.1 tell 10.0.1.10 (broadcast)"


def test_marks_broadcasts_and_failures(tmp_path):
    doc = parse(write(tmp_path)[1])
    by_number = {int(n.attrs["data-number"]): n for n in frames(doc)}
    assert "bcast" in by_number[1].classes and by_number[1].find(cls="dash")
    assert "bcast" not in by_number[2].classes and not by_number[2].find(cls="dash")
    assert "failed" in by_number[10].classes
    assert by_number[10].one(cls="m-fail").all_text() == "✘ no retransmission"
    assert by_number[3].one(cls="m-pass").all_text() == "✔ syn"
    failed = doc.one(tag="li", id="item-5")
    assert failed.attrs["data-status"] == "FAIL" and "i-fail" in failed.classes
    assert [a.attrs["data-goto"] for a in failed.find(tag="a")] == ["10"]
    assert "frame #10 repeats seq 1001 len 5 of frame #9" in failed.all_text()
    skipped = doc.one(tag="li", id="item-6")
    assert skipped.one(cls="mark").all_text() == "?"
    assert "capture stopped after 0.3 s" in doc.one(cls="notes").all_text()
    assert "client connects to web:80" in doc.one(cls="narration").all_text()


def test_arrows_join_the_right_lanes(tmp_path):
    doc = parse(write(tmp_path)[1])
    lanes = {t.all_text(): float(t.attrs["x"]) for t in doc.find(tag="text", cls="lane-name")}
    assert list(lanes) == list(COLUMNS)
    by_number = {int(n.attrs["data-number"]): n for n in frames(doc)}

    def ends(n: int) -> tuple[float, float]:
        dot = float(by_number[n].one(tag="circle", cls="dot").attrs["cx"])
        tip = float(re.match(r"M([\d.]+) ", by_number[n].one(tag="path", cls="head").attrs["d"]).group(1))
        return dot, tip

    assert ends(3) == (lanes["client"], lanes["router"])  # SYN client → router
    assert ends(4) == (lanes["router"], lanes["web"])  # forwarded
    assert ends(5) == (lanes["web"], lanes["router"])  # SYN-ACK back
    assert ends(1) == (lanes["client"], lanes["router"])  # the ARP broadcast reaches lan1's other node


def test_unknown_nodes_end_at_a_question_mark(tmp_path):
    eth = {"src": "02:00:00:00:00:01", "dst": "02:00:00:00:00:02"}
    trace = make_trace([Frame(0, 0.0, "lan1", None, "web", {"eth": eth}),
                        Frame(0, 0.1, "lan1", "client", None, {"eth": eth}),
                        Frame(0, 0.2, "lan1", "dns-root", "client", {"eth": eth})])
    doc = parse(write(tmp_path, trace, Verdict("x", Status.PASS, ()))[1])
    first, second, third = frames(doc)
    assert first.one(cls="edge-q").all_text() == "?" and not first.find(cls="dot")
    assert second.one(cls="edge-q").all_text() == "?" and second.find(cls="dot")
    assert "bcast" not in second.classes  # an unknown receiver is not a broadcast
    assert second.one(cls="label").all_text().startswith("[to ?]")
    assert third.one(cls="edge-name").shown_text() == "dns-root"
    long = make_trace([Frame(0, 0.0, "lan1", "resolver-two", "client", {"eth": eth})])
    name = frames(parse(write(tmp_path, long, Verdict("x", Status.PASS, ()))[1]))[0].one(cls="edge-name")
    assert name.shown_text() == "resolve…" and name.one(tag="title").all_text() == "resolver-two"
    assert third.one(cls="label").all_text().startswith("[from dns-root]")


def test_no_external_resources(tmp_path):
    trace = make_trace([Frame(0, 0.0, "lan1", "client", "router", {
        "eth": {"src": "a", "dst": "b"},
        "dns": {"id": 1, "qr": False, "qname": "https://evil.example/x.js", "qtype": "A"}})])
    text = write(tmp_path, trace, pcap="trace.pcapng")[1]
    doc = parse(text)
    for node in doc.walk():
        assert node.tag not in {"link", "img", "iframe", "object", "embed", "base", "frame", "video", "audio"}
        for name, value in node.attrs.items():
            if name in URL_ATTRS:
                assert "://" not in value and not value.startswith("//"), (node.tag, name, value)
        assert node.tag != "script" or "src" not in node.attrs
    style = doc.one(tag="style").all_text()
    assert "url(" not in style and "@import" not in style
    outside_data = text.replace(doc.one(tag="script", id="report-data").all_text(), "")
    hits = re.findall(r"https?://[^\s<\"]*", outside_data)
    assert hits == ["https://evil.example/x.js"] * len(hits)  # only the trace's own (escaped) text
    assert not any(f'="{h}' in outside_data for h in hits)  # never as an attribute value
    assert "https://" not in write(tmp_path)[1] and "http://" not in write(tmp_path)[1]


def test_content_security_policy_forbids_everything_but_the_page_itself(tmp_path):
    doc = parse(write(tmp_path)[1])
    meta = doc.one(tag="meta", http_equiv="Content-Security-Policy")
    policy = dict(part.strip().split(" ", 1) for part in meta.attrs["content"].split(";"))
    assert policy["default-src"] == "'none'"
    assert all(policy[k] == "'none'" for k in ("img-src", "font-src", "connect-src", "base-uri", "form-action"))
    code = next(s for s in doc.find(tag="script") if s.attrs.get("type") != "application/json")
    digest = base64.b64encode(hashlib.sha256(code.all_text().encode()).digest()).decode()
    assert policy["script-src"] == f"'sha256-{digest}'"
    style = base64.b64encode(hashlib.sha256(doc.one(tag="style").all_text().encode()).digest()).decode()
    assert policy["style-src"] == f"'sha256-{style}'"
    assert not [n for n in doc.walk() if "style" in n.attrs or any(a.startswith("on") for a in n.attrs)]


def test_hostile_names_and_payloads_are_escaped(tmp_path):
    text = write(tmp_path, hostile_trace(), hostile_verdict(), title=HOSTILE, lab=HOSTILE, run_id=HOSTILE,
                 pcap=HOSTILE, notes=(HOSTILE,), narration=(HOSTILE,), columns=("client", "router"))[1]
    assert "<img" not in text.lower()
    assert text.count("<script") == 2 and text.count("</script>") == 2  # the data and the code, nothing else
    doc = parse(text)
    assert not doc.find(tag="img")
    scripts = doc.find(tag="script")
    assert [s.attrs.get("type") for s in scripts] == ["application/json", None]
    raw = scripts[0].all_text()
    assert not set("<>&") & set(raw)
    data = json.loads(raw)
    query = data["frames"][0]
    assert query["layers"]["dns"]["qname"] == HOSTILE and query["summary"] == HOSTILE
    assert query["layers"]["udp"]["payload"] == {"len": len(HOSTILE), "hex": HOSTILE.encode().hex()}
    assert data["frames"][1]["sender"] == HOSTILE and data["items"][0]["name"] == HOSTILE
    # the markup comes back as text wherever it is shown
    assert HOSTILE in doc.one(tag="head").find(tag="title")[0].all_text()
    assert frames(doc)[0].one(cls="label").all_text() == f"query A {HOSTILE} RD id 0x0007"
    assert frames(doc)[1].one(cls="label").all_text().startswith(f"[from {HOSTILE}]")
    assert HOSTILE in doc.one(tag="li", id="item-1").all_text()
    assert doc.one(tag="a", cls="pcap").attrs["href"].startswith("%3C/script%3E")  # a relative name, quoted


def test_zero_frames(tmp_path):
    path, text = write(tmp_path, make_trace([]), Verdict("nothing", Status.INCONCLUSIVE, ()), columns=())
    doc = parse(text)
    assert frames(doc) == []
    assert data_of(doc) == {"frames": [], "items": []}
    assert "No frames were captured" in doc.one(cls="ladder").all_text()
    assert doc.one(id="verdict-status").all_text() == "INCONCLUSIVE"
    assert "0/0 items passed" in text


def test_many_frames_stay_one_svg(tmp_path):
    base = sample_trace().frames
    many = make_trace([Frame(0, i * 0.001 + f.time, f.link, f.sender, f.receiver, f.layers)
                       for i in range(300) for f in base])
    path, text = write(tmp_path, many)
    doc = parse(text)
    assert len(frames(doc)) == len(many) == 3000
    assert len(doc.find(tag="svg")) == 2  # the lane names and the ladder
    assert path.stat().st_size < 3000 * 1500  # a few hundred bytes of SVG and JSON per frame


def test_an_unusable_solution_is_said_to_score_nothing(tmp_path):
    verdict = Verdict("handshake", Status.FAIL, (ItemResult("never", "no RST", Status.PASS),),
                      notes=("your connect() could not be used: my.py:1: syntax error",),
                      unusable="your connect() could not be used: my.py:1: syntax error")
    page = write_html(tmp_path / "r.html", title="t", trace=make_trace([]), verdict=verdict, columns=()).read_text()
    assert "0/1 items: the solution could not be used" in page and "1/1 items passed" not in page
