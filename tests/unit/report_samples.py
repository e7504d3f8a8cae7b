"""A hand-built trace and verdict, for previews and tests of the renderers.

A client opens TCP to a web server through a router: ARP on lan1, the handshake
crossing lan1 and lan2, a data segment and its retransmission.

    python -m tests.unit.report_samples [WIDTH]   (from the repository root)
"""

from __future__ import annotations

import sys

from protolab.expect.trace import Frame, Trace, make_trace
from protolab.expect.verdict import ItemResult, Status, Verdict

CLIENT, WEB, GATEWAY = "10.0.1.10", "10.0.2.80", "10.0.1.1"
MACS = {"client": "02:00:00:00:01:0a", "router": "02:00:00:00:01:01", "web": "02:00:00:00:02:50"}
COLUMNS = ("client", "router", "web")


def tcp_frame(time: float, link: str, sender: str, receiver: str, forward: bool,
              seq: int, ack: int, flags: str, payload: bytes = b"") -> Frame:
    src, dst, sport, dport = (CLIENT, WEB, 40000, 80) if forward else (WEB, CLIENT, 80, 40000)
    return Frame(0, time, link, sender, receiver, {
        "eth": {"src": MACS[sender], "dst": MACS.get(receiver or "", "ff:ff:ff:ff:ff:ff"), "type": 0x0800},
        "ip": {"src": src, "dst": dst, "ttl": 64, "proto": 6},
        "tcp": {"sport": sport, "dport": dport, "seq": seq, "ack": ack, "flags": flags,
                "window": 64240, "len": len(payload), "payload": payload},
    }, summary=f"TCP {src}:{sport} > {dst}:{dport} {flags}")


def arp_frame(time: float, link: str, sender: str, receiver: str | None, op: int, psrc: str, pdst: str) -> Frame:
    hwdst = "ff:ff:ff:ff:ff:ff" if receiver is None else MACS[receiver]
    return Frame(0, time, link, sender, receiver, {
        "eth": {"src": MACS[sender], "dst": hwdst, "type": 0x0806},
        "arp": {"op": op, "hwsrc": MACS[sender], "psrc": psrc, "hwdst": hwdst, "pdst": pdst},
    })


def sample_trace() -> Trace:
    return make_trace([
        arp_frame(0.0000, "lan1", "client", None, 1, CLIENT, GATEWAY),
        arp_frame(0.0003, "lan1", "router", "client", 2, GATEWAY, CLIENT),
        tcp_frame(0.0010, "lan1", "client", "router", True, 1000, 0, "S"),
        tcp_frame(0.0012, "lan2", "router", "web", True, 1000, 0, "S"),
        tcp_frame(0.0020, "lan2", "web", "router", False, 5000, 1001, "SA"),
        tcp_frame(0.0022, "lan1", "router", "client", False, 5000, 1001, "SA"),
        tcp_frame(0.0030, "lan1", "client", "router", True, 1001, 5001, "A"),
        tcp_frame(0.0032, "lan2", "router", "web", True, 1001, 5001, "A"),
        tcp_frame(0.0040, "lan1", "client", "router", True, 1001, 5001, "PA", b"hello"),
        tcp_frame(0.2040, "lan1", "client", "router", True, 1001, 5001, "PA", b"hello"),
    ], links=("lan1", "lan2"))


def sample_verdict() -> Verdict:
    items = (
        ItemResult("step", "syn", Status.PASS, frames=(3,)),
        ItemResult("step", "syn forwarded", Status.PASS, frames=(4,)),
        ItemResult("step", "syn-ack", Status.PASS, frames=(5, 6)),
        ItemResult("step", "ack", Status.PASS, frames=(7,)),
        ItemResult("never", "no retransmission", Status.FAIL, frames=(10,),
                   messages=("frame #10 repeats seq 1001 len 5 of frame #9",)),
        ItemResult("fact", "web got the data", Status.SKIPPED, messages=("depends on a step that did not match",)),
    )
    return Verdict("tcp-through-router", Status.FAIL, items, bindings={"isn": 1000, "server_isn": 5000},
                   notes=("capture stopped after 0.3 s",))


def main(argv: list[str]) -> None:
    from rich.console import Console

    from protolab.report.ladder import render_ladder
    from protolab.report.verdict_view import render_verdict

    console = Console(width=int(argv[0])) if argv else Console()
    console.print(render_ladder(sample_trace(), sample_verdict(), COLUMNS, title="TCP through a router"))
    console.print()
    console.print(render_verdict(sample_verdict()))


if __name__ == "__main__":
    main(sys.argv[1:])
