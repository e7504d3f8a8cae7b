"""DNS in reports: a `dig +trace`-like view of who delegated to whom (the ladder's labels are labels.py's).

    client (10.0.1.10) asks:
      .             root 10.0.2.11  A www.example.lab.  0.21 ms
                    └ referral: lab. NS ns1.nic.lab. (glue ns1.nic.lab. A 10.0.2.12)
      lab.          tld 10.0.2.12   A www.example.lab.  0.18 ms
                    └ referral: example.lab. NS ns1.example.lab. (glue ns1.example.lab. A 10.0.2.13)
      example.lab.  auth 10.0.2.13  A www.example.lab.  0.16 ms
                    └ answer AA: www.example.lab. A 10.0.2.80

Built from the capture alone: every DNS question a node sent (counted once,
on the link where it was sent) paired with the response carrying its id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from rich.console import Group, RenderableType
from rich.text import Text

from protolab.expect.trace import Frame, Trace


def said(layer: Mapping[str, Any]) -> str:
    """What a response says: a referral (and to whom), an answer, NXDOMAIN, a truncation."""
    aa = " AA" if layer.get("aa") else ""
    rcode = layer.get("rcode", "NOERROR")
    answers = tuple(layer.get("answers") or ())
    if layer.get("tc"):
        return f"truncated (TC=1){aa}: ask again over TCP"
    if rcode == "NXDOMAIN":
        soa = next((r for r in layer.get("authority") or () if r[1] == "SOA"), None)
        where = f", SOA of {soa[0]}" if soa else ""
        return f"NXDOMAIN{aa}{where}"
    if rcode != "NOERROR":
        return f"{rcode}{aa}"
    if answers:
        return f"answer{aa}: " + "; ".join(f"{o} {t} {_clip(v, 40)}" for o, t, v in answers)
    ns = [r for r in layer.get("authority") or () if r[1] == "NS"]
    if ns and not layer.get("aa"):
        zone = ns[0][0]
        names = ", ".join(r[2] for r in ns)
        addresses = {r[0]: r[2] for r in layer.get("additional") or () if r[1] == "A"}
        glue = [f"{r[2]} A {addresses[r[2]]}" for r in ns if r[2] in addresses]
        return f"referral: {zone} NS {names} " + (f"(glue {', '.join(glue)})" if glue else "(no glue)")
    return f"no data{aa}"


@dataclass(frozen=True)
class Exchange:
    """A DNS question seen on the wire and the response to it (if one came)."""

    asker: str
    server: str  # address
    query: Frame
    response: Frame | None

    @property
    def seconds(self) -> float | None:
        return self.response.time - self.query.time if self.response else None


def exchanges(trace: Trace, owners: Mapping[str, str]) -> list[Exchange]:
    """Every DNS question sent by a node, with its response, in capture order.

    `owners` maps addresses to node names: a frame counts only on the link
    where the node owning its source address put it (not again when routed)."""
    originals = [f for f in trace if f.has("dns") and f.has("ip") and owners.get(f.get("ip.src")) == f.sender]
    out: list[Exchange] = []
    for i, frame in enumerate(originals):
        dns_ = frame.layers["dns"]
        if dns_["qr"]:
            continue
        key = _flow(frame)
        response = next(
            (r for r in originals[i + 1:] if r.layers["dns"]["qr"] and r.layers["dns"]["id"] == dns_["id"] and _flow(r) == key[::-1]),
            None,
        )
        out.append(Exchange(frame.sender or "?", frame.get("ip.dst"), frame, response))
    return out


def _flow(frame: Frame) -> tuple:
    transport = frame.layers["dns"]["transport"]
    return (frame.get("ip.src"), frame.get(f"{transport}.sport"), frame.get(f"{transport}.dport"), frame.get("ip.dst"))


def render_delegation(
    trace: Trace,
    owners: Mapping[str, str],
    zones: Mapping[str, Sequence[str]] | None = None,
    askers: Sequence[str] = (),
    title: str = "delegation walk (as seen on the wire)",
) -> RenderableType:
    """Per asking node, every question like `dig +trace`: zone, server, question,
    time, and below it what the server said.

    `zones` maps a server address to the zones it serves (the deepest one
    containing the question is shown); `askers` picks and orders the nodes."""
    zones = zones or {}
    seen = exchanges(trace, owners)
    names = list(askers) or list(dict.fromkeys(e.asker for e in seen))
    rows = [(_zone(zones.get(e.server, ()), e.query.layers["dns"]["qname"]), f"{owners.get(e.server, '?')} {e.server}") for e in seen]
    zone_w = max((len(z) for z, _ in rows), default=1)
    server_w = max((len(s) for _, s in rows), default=1)
    lines: list[Text] = [Text(title, style="bold")]
    for asker in names:
        mine = [(e, row) for e, row in zip(seen, rows) if e.asker == asker]
        if not mine:
            continue
        address = next((ip for ip, node in owners.items() if node == asker), "?")
        lines.append(Text(f"{asker} ({address}) asks:", style="bold"))
        for e, (zone, server) in mine:
            q = e.query.layers["dns"]
            question = f"{q['qtype']} {q['qname']}" + (" RD" if q["rd"] else "") + (" over TCP" if q["transport"] == "tcp" else "")
            when = f"{e.seconds * 1000:.2f} ms" if e.seconds is not None else "no response"
            head = Text("  ")
            head.append(zone.ljust(zone_w), style="bold")
            head.append(f"  {server.ljust(server_w)}  {question}  ")
            head.append(when, style="dim")
            lines.append(head)
            if e.response is None:
                answer, style = "no response", "red"
            else:
                r = e.response.layers["dns"]
                answer, style = said(r), ("green" if r["aa"] else "yellow" if r["tc"] else "")
            lines.append(Text(f"  {' ' * zone_w}  └ {answer}", style=style))
    if len(lines) == 1:
        lines.append(Text("no DNS question was captured", style="dim"))
    return Group(*lines)


def _zone(served: Sequence[str], qname: str | None) -> str:
    """The deepest served zone containing qname ("recursive" for a server holding no zone)."""
    if not served:
        return "recursive"
    if not qname:
        return "?"
    inside = [z for z in served if z == "." or qname == z or qname.endswith("." + z)]
    return max(inside, key=len, default="?")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
