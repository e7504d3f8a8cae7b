"""Across a router: the MAC header changes at every hop, the IP header does not.

The student's part is `probe`: one hand-built ICMP echo request, sent as a whole
Ethernet frame (the student picks the next hop and finds its MAC with ARP),
returning who answered. The procedure uses it three ways, each a part that can
be run alone: a packet to the other LAN, a traceroute by hand (TTL 1, then 2),
and a packet to an address no route leads to.
"""

from __future__ import annotations

import random
from ipaddress import ip_address, ip_network
from typing import Any, Mapping

from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether

from protolab.errors import LabError
from protolab.expect import START, Check, Expectation, F, Fact, Layer, Never, OnLink, SentBy, Step, V
from protolab.lab import Lab, LabContext
from protolab.kernel.icmp_errors import icmp_counters
from protolab.kernel.neighbours import emptied_caches
from protolab.kernel.routes import default_route, lookup, routes
from protolab.wire.words import icmp_name

INSTRUCTIONS = """\
A packet for another network is handed from link to link. On each link it
travels in a new Ethernet frame, addressed from the MAC of the machine that
sends it on that link to the MAC of the next machine on the way (the next
hop). The IP header inside stays as the sender wrote it: the same source and
destination addresses end to end. Only the TTL goes down, by one at every
router, and when it would reach 0 the router drops the packet and sends an
ICMP "time exceeded" back: that is how traceroute finds the routers on a path.

The lab network: client 10.0.1.10 on lan1 (10.0.1.0/24), web 10.0.2.80 on
lan2 (10.0.2.0/24), and between them the router, 10.0.1.1 (MAC
02:00:00:00:01:01) on lan1 and 10.0.2.1 (MAC 02:00:00:00:02:01) on lan2. The
router knows only these two networks: it has no default route.

Your task: write `probe(client, dst, ttl, lan)` that does by hand what the
client's IP layer does for one ICMP echo request ("ping"), and reports who
answered:

  1. Choose the next hop: `dst` itself if it is in the client's own network
     `lan` ("10.0.1.0/24"), otherwise the client's gateway `client.gateway`.
  2. Find the next hop's MAC address: send an ARP request (who-has) as a
     broadcast frame and read the reply.
  3. Send the echo request in a frame addressed to that MAC:
       Ether(dst=next_hop_mac) / IP(src=client.ip, dst=dst, ttl=ttl) / ICMP(id=..., seq=...)
  4. Return who answered, as {"from": <source IP of the answer>, "type": <ICMP
     type>, "code": <ICMP code>}, or None if nothing answered. The answer can
     be web's echo reply (type 0) or an ICMP error from a router (time
     exceeded, type 11; destination unreachable, type 3). An error quotes the
     header of your packet inside it: the one who answered is the source of
     the error itself, not an address in the quote.

  - `client` sends and receives frames on the client's link:
      client.sr1(frame, timeout=1.0)  sends an Ethernet frame, returns the first
                                      frame that answers it (an ARP reply, an
                                      echo reply, or an ICMP error about it), or None;
      client.send(frame)              sends a frame without waiting;
    (your code runs inside the client machine: scapy's own srp1()/sendp()
    act there too, but client.sr1 keeps its sockets open and is quicker);
      client.ip, client.mac, client.gateway   the client's addresses and its gateway.
    Frames that arrive during your call and that no sr1()/recv() took are
    kept, oldest first, for the next one (nothing from before your call).
  - The arguments: `dst`, the destination address; `ttl`, the TTL to put in
    the IP header; `lan`, the client's own network ("10.0.1.0/24").
  - Time: each call of probe() may take 5 s; an answer here comes within a
    millisecond, and nothing is sent again while you think. Return None if
    nothing answered within about a second.
  - `from scapy.layers.l2 import Ether, ARP` and `from scapy.layers.inet import
    IP, ICMP`. Fill in every address yourself: Ether(dst=...), ARP(pdst=...,
    psrc=client.ip, hwsrc=client.mac), IP(src=client.ip, ...). Left empty,
    scapy would take them from the computer running the lab, not the client.

The lab calls your probe() in up to three parts (--set part=forward, ttl or
unroutable, or several separated by commas; all by default):

  forward     probe(client, "10.0.2.80", 64, lan): a packet to web, on the
              other LAN. Checked on both links: the client asks ARP for the
              gateway's MAC, not web's; on lan1 the frame goes from the
              client's MAC to the router's; on lan2 the router has put its own
              lan2 MAC as source and web's MAC as destination, the IP
              addresses are unchanged and the TTL is one lower (64, then 63);
              the echo reply comes back the same way, hop by hop.
  ttl         probe(client, "10.0.2.80", 1, lan), then with TTL 2: a traceroute
              by hand. TTL 1 dies at the router, which answers "time exceeded"
              (hop 1: the router); TTL 2 crosses it and reaches web (hop 2).
  unroutable  probe(client, "192.0.2.1", 64, lan): an address in neither LAN.
              The client still hands it to its gateway; the router finds no
              route and answers "destination unreachable, net unreachable".
              Nothing for 192.0.2.1 may appear beyond lan1.

Before the run the neighbour caches (ARP tables) of client, router and web are
emptied, so every MAC address has to be found again and every ARP exchange is
in the capture. Hand in a Python file defining `probe` and run:
    protolab run route --solution my_route.py
"""

PARTS = ("forward", "ttl", "unroutable")
FORWARD_TTL = 64
UNROUTABLE = "192.0.2.1"  # TEST-NET-1: in no LAN of the lab, and the router has no default route
BROADCAST = "ff:ff:ff:ff:ff:ff"


def probe(client, dst: str, ttl: int, lan: str):
    """Send one ICMP echo request to `dst` in a hand-built frame; return who answered, or None."""
    next_hop = dst if ip_address(dst) in ip_network(lan) else client.gateway
    who_has = Ether(dst=BROADCAST) / ARP(op="who-has", hwsrc=client.mac, psrc=client.ip, pdst=next_hop)
    is_at = client.sr1(who_has, timeout=1.0)
    if is_at is None:
        raise RuntimeError(f"nobody answered ARP who-has {next_hop}")
    request = Ether(dst=is_at[ARP].hwsrc) / IP(src=client.ip, dst=dst, ttl=ttl) / ICMP(id=random.randrange(1, 65536), seq=ttl)
    answer = client.sr1(request, timeout=1.0)
    if answer is None:
        return None
    return {"from": answer[IP].src, "type": answer[ICMP].type, "code": answer[ICMP].code}


# -- pure helpers ------------------------------------------------------------------------------


def chosen_parts(params: Mapping[str, Any]) -> tuple[str, ...]:
    """The parts named by the `part` parameter ("all" or a comma-separated list), in lab order."""
    words = [w.strip() for w in str(params["part"]).split(",") if w.strip()]
    if words == ["all"]:
        return PARTS
    unknown = [w for w in words if w not in PARTS]
    if unknown or not words:
        raise LabError(f"parameter part={params['part']!r}: expected all, or one or more of {', '.join(PARTS)} separated by commas")
    return tuple(p for p in PARTS if p in words)


def describe(answer: Any) -> str:
    """A probe() result in words: "10.0.1.1: time exceeded (type 11, code 0)", "no answer"."""
    if answer is None:
        return "no answer"
    if not isinstance(answer, Mapping) or not {"from", "type", "code"} <= set(answer):
        return f"{answer!r} (not a {{'from', 'type', 'code'}} dict)"
    kind, code = answer["type"], answer["code"]
    name = icmp_name(kind, code) if isinstance(kind, int) and isinstance(code, int) else "?"
    return f"{answer['from']}: {name} (type {kind}, code {code})"


def probe_key(dst: str, ttl: int) -> str:
    """The fact under which the lab records what probe(client, dst, ttl, lan) returned."""
    return f"probe({dst}, ttl={ttl})"


# -- the run -----------------------------------------------------------------------------------


def procedure(ctx: LabContext) -> None:
    parts = chosen_parts(ctx.params)
    router = ctx.node("router")
    client = ctx.host("client")
    lan = str(ctx.topology.lan(ctx.topology.node("client").interfaces[0].lan).subnet)
    web = ctx.ip("web")
    ctx.use(emptied_caches(ctx.node(name) for name in ("client", "router", "web")))
    ctx.say("client, router, web: ARP caches emptied, every MAC must be asked for again")
    table = routes(router)
    default = default_route(table)
    ctx.fact("router: default route", str(default) if default else "none")
    ctx.say(f"router: routes {'; '.join(map(str, table))}" + ("" if default else " — no default route"))

    def ask(dst: str, ttl: int) -> None:
        key = probe_key(dst, ttl)
        ctx.fact(key, describe(ctx.call_student(client, dst, ttl, lan)))
        ctx.say(f"your {key} → {ctx.facts[key]}")

    if "forward" in parts:
        ask(web, FORWARD_TTL)
    if "ttl" in parts:
        ask(web, 1)
        ask(web, 2)
    if "unroutable" in parts:
        route = lookup(table, UNROUTABLE)
        ctx.say(f"router: {UNROUTABLE} matches {'route ' + str(route) if route else 'no route'}")
        before = icmp_counters(router)
        ask(UNROUTABLE, FORWARD_TTL)
        counted = icmp_counters(router) - before
        ctx.fact("router: packets dropped for lack of a route", counted.no_route)
        if counted.unreachable_held_back:
            ctx.inconclusive(
                "the router dropped the packet for lack of a route but its kernel held back the 'net unreachable': "
                "Linux sends at most one such error per second to a sender (bursts of 5) — run the lab again in a few seconds"
            )


# -- what the capture must show ----------------------------------------------------------------


def expectation(topology, params) -> Expectation:
    parts = chosen_parts(params)
    a = _Addresses(topology)
    steps: list[Step] = []
    never: list[Never] = []
    facts: list[Check] = []
    if "forward" in parts:
        steps += _forward_steps(a)
        facts.append(Check(
            Fact(probe_key(a.web, FORWARD_TTL)) == describe({"from": a.web, "type": 0, "code": 0}),
            f"your probe() reports that web {a.web} answered with an echo reply",
        ))
    if "ttl" in parts:
        steps += _ttl_steps(a)
        facts += [
            Check(
                Fact(probe_key(a.web, 1)) == describe({"from": a.gw, "type": 11, "code": 0}),
                f"your probe() reports hop 1 = the router {a.gw}, 'time exceeded': the sender of the ICMP error, "
                "not the address quoted inside it",
            ),
            Check(
                Fact(probe_key(a.web, 2)) == describe({"from": a.web, "type": 0, "code": 0}),
                f"your probe() reports hop 2 = web {a.web} itself, with an echo reply",
            ),
        ]
    if "unroutable" in parts:
        steps += _unroutable_steps(a)
        never.append(Never(
            f"nothing for {UNROUTABLE} goes beyond {a.lan1} (nothing leaves the lab)",
            match=(F("ip.dst") == UNROUTABLE, ~OnLink(a.lan1)),
            why=f"The router has no route for {UNROUTABLE} and no default route: it must drop the packet, "
            "so nothing addressed to it may leave the client's LAN (and nothing leaves the lab).",
        ))
        facts += [
            Check(Fact("router: default route") == "none",
                  "the router has no default route: an address in neither LAN has nowhere to go"),
            Check(Fact("router: packets dropped for lack of a route") >= 1,
                  f"the router's kernel dropped the packet for {UNROUTABLE}: no route"),
            Check(
                Fact(probe_key(UNROUTABLE, FORWARD_TTL)) == describe({"from": a.gw, "type": 3, "code": 0}),
                f"your probe() reports the router {a.gw}'s 'net unreachable' (an error is an answer; "
                "silence is not success)",
            ),
        ]
    return Expectation(name="Across a router, hop by hop", steps=tuple(steps), never=tuple(never), facts=tuple(facts))


class _Addresses:
    """The addresses and MACs the expectation talks about, from the topology."""

    def __init__(self, topology) -> None:
        client, router, web = (topology.node(n) for n in ("client", "router", "web"))
        self.lan1, self.lan2 = client.interfaces[0].lan, web.interfaces[0].lan
        self.client, self.client_mac = str(client.ip), client.mac
        self.web, self.web_mac = str(web.ip), web.mac
        self.gw = str(client.gateway)
        self.router_mac1 = router.interface_on(self.lan1).mac
        self.router_mac2 = router.interface_on(self.lan2).mac
        self.net1 = str(topology.lan(self.lan1).subnet)


def _echo(kind: int, *, link: str, by: str, src: str | None = None, dst: str | None = None) -> tuple:
    conds = [OnLink(link), SentBy(by), F("icmp.type") == kind]
    if src:
        conds.append(F("ip.src") == src)
    if dst:
        conds.append(F("ip.dst") == dst)
    return tuple(conds)


def _forward_steps(a: _Addresses) -> list[Step]:
    return [
        Step(
            "client ARPs for its gateway",
            match=(OnLink(a.lan1), SentBy("client"), Layer("arp"), F("arp.op") == 1),
            checks=(
                Check(F("arp.pdst") == a.gw,
                      f"the client asks for the MAC of its gateway {a.gw}, the next hop toward {a.web}: web is on "
                      f"{a.lan2}, not in {a.net1}, and an ARP request only reaches the machines of its own link, "
                      "so nobody would answer for web"),
                Check(F("arp.psrc") == a.client, f"the request says who asks: tell {a.client}"),
                Check(F("arp.hwsrc") == a.client_mac, f"the request carries the client's MAC {a.client_mac}, where the answer goes"),
            ),
            hint=f"A host sends every packet for another network to its gateway, so before the first one it asks "
            f"ARP for the gateway's MAC (who-has {a.gw}).",
        ),
        Step(
            f"router: gateway is-at its {a.lan1} MAC",
            match=(OnLink(a.lan1), SentBy("router"), Layer("arp"), F("arp.op") == 2, F("arp.pdst") == a.client),
            checks=(Check(F("arp.hwsrc") == a.router_mac1, f"the router answers with its {a.lan1} MAC {a.router_mac1}"),),
            hint=f"The router answers an ARP request for its own {a.lan1} address {a.gw}, and for nothing else.",
        ),
        Step(
            f"{a.lan1}: client → router's MAC",
            match=_echo(8, link=a.lan1, by="client", dst=a.web),
            after=START,  # a solution that skips ARP still sends this frame: its mistake is explained here
            checks=(
                Check(F("eth.dst") == a.router_mac1,
                      f"on {a.lan1} the frame is addressed to the next hop, the router's MAC {a.router_mac1}: web is on "
                      f"{a.lan2}, so a frame for web's MAC {a.web_mac} finds nobody on {a.lan1} (the router ignores "
                      "frames that are not addressed to it)"),
                Check(F("eth.src") == a.client_mac, f"on {a.lan1} the source MAC is the client's {a.client_mac}"),
                Check(F("ip.src") == a.client, f"the IP source is the client {a.client} (set IP(src=client.ip))"),
                Check(F("ip.ttl") == FORWARD_TTL, f"the packet leaves with the TTL it was given, {FORWARD_TTL}"),
            ),
            bind={"TTL on lan1": "ip.ttl", "IP id on lan1": "ip.id"},
            hint=f"On each link the frame goes to the next hop's MAC; the IP header keeps the end-to-end "
            f"addresses ({a.client} → {a.web}).",
        ),
        Step(
            f"router ARPs for web on {a.lan2}",
            match=(OnLink(a.lan2), SentBy("router"), Layer("arp"), F("arp.op") == 1),
            checks=(Check(F("arp.pdst") == a.web, f"on {a.lan2} the next hop is web itself: the router asks for {a.web}'s MAC"),),
            hint=f"Before forwarding on {a.lan2} the router needs web's MAC; it forwards only packets that reached it "
            f"in a frame for its own MAC {a.router_mac1}.",
        ),
        Step(
            f"{a.lan2}: router → web, same IP header",
            match=_echo(8, link=a.lan2, by="router", dst=a.web),
            checks=(
                Check(F("eth.src") == a.router_mac2,
                      f"on {a.lan2} the router sets the source MAC to its own {a.lan2} MAC {a.router_mac2}"),
                Check(F("eth.dst") == a.web_mac, f"on {a.lan2} the destination MAC is web's {a.web_mac}"),
                Check(F("ip.src") == a.client, f"the IP source is still the client {a.client}: routers leave the addresses alone"),
                Check(F("ip.ttl") == V("TTL on lan1") - 1,
                      f"the TTL drops by exactly one at the router: {FORWARD_TTL} on {a.lan1}, {FORWARD_TTL - 1} on {a.lan2}"),
                Check(F("ip.id") == V("IP id on lan1"), "the rest of the IP header is unchanged (same identification)"),
            ),
            hint="A router writes a new Ethernet header for every link and leaves the IP header as it was, "
            "except the TTL (and the checksum that covers it).",
        ),
        Step(
            f"{a.lan2}: web's reply → router's MAC",
            match=_echo(0, link=a.lan2, by="web", src=a.web, dst=a.client),
            checks=(
                Check(F("eth.dst") == a.router_mac2,
                      f"web sends the reply to its own gateway: the router's {a.lan2} MAC {a.router_mac2}"),
            ),
            bind={"TTL of the reply on lan2": "ip.ttl"},
            hint="web answers an echo request that reached it.",
        ),
        Step(
            f"{a.lan1}: reply router → client",
            match=_echo(0, link=a.lan1, by="router", src=a.web, dst=a.client),
            checks=(
                Check(F("eth.src") == a.router_mac1, f"on {a.lan1} the reply comes from the router's {a.lan1} MAC {a.router_mac1}"),
                Check(F("eth.dst") == a.client_mac, f"on {a.lan1} the reply is addressed to the client's MAC {a.client_mac}"),
                Check(F("ip.ttl") == V("TTL of the reply on lan2") - 1, "the reply's TTL also drops by exactly one at the router"),
            ),
            hint="The router forwards web's reply back to the client.",
        ),
    ]


def _ttl_steps(a: _Addresses) -> list[Step]:
    return [
        Step(
            "TTL 1 leaves the client",
            match=_echo(8, link=a.lan1, by="client", dst=a.web),
            checks=(
                Check(F("ip.ttl") == 1, "the first probe of a traceroute has TTL 1: it may reach the first router and no further"),
                Check(F("eth.dst") == a.router_mac1, f"like every off-link packet it goes to the router's MAC {a.router_mac1}"),
            ),
            hint="Hops are counted from 1: TTL 1 finds the first router, TTL 2 the machine behind it.",
        ),
        Step(
            "hop 1: router, time exceeded",
            match=_echo(11, link=a.lan1, by="router", dst=a.client),
            checks=(
                Check(F("ip.src") == a.gw, f"the error comes from the router's address on the client's LAN, {a.gw}: that is hop 1"),
                Check(F("icmp.code") == 0, "code 0: TTL exceeded in transit"),
                Check(F("icmp.inner_dst") == a.web, f"it quotes the header of the probe: destination {a.web}"),
            ),
            hint="A router that receives a packet it may not forward any further (TTL 1) drops it and answers "
            "ICMP time exceeded (type 11).",
        ),
        Step(
            "TTL 2 leaves the client",
            match=_echo(8, link=a.lan1, by="client", dst=a.web),
            checks=(Check(F("ip.ttl") == 2, "the second probe has TTL 2: one router to cross, then web"),),
            hint="Hops are counted from 1: TTL 1 finds the first router, TTL 2 the machine behind it.",
        ),
        Step(
            "TTL 2 crosses the router",
            match=_echo(8, link=a.lan2, by="router", dst=a.web),
            checks=(Check(F("ip.ttl") == 1, f"the router forwards it on {a.lan2} with TTL 1 left, and it reaches web"),),
            hint="A probe crosses the router only if it arrives with a TTL of 2 or more.",
        ),
        Step(
            "hop 2: web, echo reply",
            match=_echo(0, link=a.lan1, by="router", src=a.web, dst=a.client),
            hint="web answers an echo request that reached it; the router forwards the reply to the client.",
        ),
    ]


def _unroutable_steps(a: _Addresses) -> list[Step]:
    return [
        Step(
            f"to {UNROUTABLE}: via the gateway",
            match=_echo(8, link=a.lan1, by="client", dst=UNROUTABLE),
            checks=(
                Check(F("eth.dst") == a.router_mac1,
                      f"an address in neither LAN is off-link too: the frame goes to the gateway's MAC {a.router_mac1}"),
            ),
            hint=f"{UNROUTABLE} is not in {a.net1}: send it to the gateway, like any off-link packet.",
        ),
        Step(
            "router: net unreachable",
            match=_echo(3, link=a.lan1, by="router", dst=a.client),
            checks=(
                Check(F("icmp.code") == 0, f"code 0, net unreachable: the router has no route toward {UNROUTABLE}"),
                Check(F("ip.src") == a.gw, f"the error comes from the router, {a.gw}"),
                Check(F("icmp.inner_dst") == UNROUTABLE, f"it quotes the dropped packet: destination {UNROUTABLE}"),
            ),
            hint="A router with no route for a destination drops the packet and answers ICMP destination unreachable.",
        ),
    ]


LAB = Lab(
    name="route",
    title="Across a router: new MACs at every hop, the same IP header",
    summary="Hand-built frames through a router: ARP for the gateway, MAC rewrite, TTL, time exceeded, net unreachable",
    instructions=INSTRUCTIONS,
    student=probe,
    procedure=procedure,
    expectation=expectation,
    columns=("client", "router", "web"),
    params={"part": "all"},
    param_help={"part": "the parts to run: all, or forward, ttl, unroutable (several separated by commas)"},
    timeout=5.0,
    facts={
        "probe(*)": "what your probe() returned for that destination and TTL, in words",
        "router: default route": "the router's default route, or 'none'",
        "router: packets dropped for lack of a route": ("the router's no-route drops during the unroutable part", int),
    },
)
