"""ARP by hand: resolve a neighbour's MAC, meet silence, and watch a gratuitous ARP.

The student writes `resolve` (its body below is the reference solution); the
lab drives three parts in order, each of which can be switched off with a
parameter: the question to `peer`, the question nobody answers, and the
client's gratuitous announcement of a new MAC. The kernels' neighbour tables
are read with netlink before and after, as proof on the other side.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Mapping

from scapy.layers.l2 import ARP, Ether

from protolab.backends.base import NodeHandle
from protolab.errors import LabError
from protolab.expect import Check, Expectation, F, Fact, Layer, Never, SentBy, Step
from protolab.kernel.neighbours import (
    Neighbour, arp_settings, emptied_caches, forget_neighbour, neighbour, set_neighbour, wait_for_neighbour,
)
from protolab.lab import Lab, LabContext
from protolab.lab.api import OneOf, Range

INSTRUCTIONS = """\
An IP packet travels inside an Ethernet frame, and an Ethernet frame is
addressed to a MAC address. Before the client can send anything to another
machine on its LAN it must learn that machine's MAC. ARP (RFC 826) asks:

  1. client → everyone   who-has 10.0.1.20 tell 10.0.1.10   Ethernet broadcast
  2. peer   → client     10.0.1.20 is-at 02:00:00:00:01:20  unicast, straight back

An ARP frame is Ethernet type 0x0806 with four addresses in its body. The
SENDER fields describe the machine that sends this frame, the TARGET fields
the machine it is about:

    field    who-has (op 1)                      is-at (op 2)
    op       1                                   2
    hwsrc    client's MAC                        peer's MAC   <- the answer
    psrc     client's IP                         peer's IP
    hwdst    00:00:00:00:00:00 (unknown: the     client's MAC
             very thing being asked)
    pdst     the IP being looked up              client's IP

The question goes to the Ethernet broadcast address ff:ff:ff:ff:ff:ff because
the client does not know peer's MAC yet. In the answer the roles swap: peer
is now the sender, so its MAC is in hwsrc, and the target fields name the
client. peer's kernel also learns from the question itself: after answering,
its neighbour table holds 10.0.1.10 → the client's MAC (in state STALE: a
question proves the asker exists, not that it can hear peer).

ARP only works on your own link. `web` (10.0.2.80) sits on the other LAN,
behind the router, and a broadcast never crosses a router. To reach web the
client ARPs for its gateway 10.0.1.1 and hands the packet to the router,
which ARPs for web on its other LAN. That is why this lab asks for `peer`,
a host on the client's own LAN.

Part 1, a neighbour: `resolve(client, "10.0.1.20", timeout=1.0)` must return
"02:00:00:00:01:20".

Part 2, nobody home: `resolve(client, "10.0.1.99", timeout=0.02)` asks for an
address no machine holds. ARP has no "no such host" reply: silence is the only
answer. Give up when the timeout has passed and return None (do not raise, do
not keep waiting). The kernel does the same, more patiently: it asks 3 times,
1 s apart, then marks the entry FAILED and reports "Destination Host
Unreachable". (A LAN answers in well under a millisecond, so the lab waits
only 0.02 s; --set wait=1.0 to be as patient as the kernel.)

Part 3, a gratuitous ARP (done by the lab, for you to watch): the client
announces that its own IP, 10.0.1.10, now lives at a new MAC,
02:00:00:01:01:10, as after a network-card swap or when a standby server
takes over a service address. Nobody asked, hence "gratuitous": a broadcast
who-has in which sender and target IP are both the client's own. Every
machine that already has an entry for 10.0.1.10 replaces the MAC at once,
and the switches learn which port the new MAC is behind, so traffic follows
without waiting for old entries to expire. The lab reads peer's entry before
and after. Linux, by default (net.ipv4.conf.*.arp_accept=0), only UPDATES
entries it already has: a gratuitous ARP from a host it never talked to is
ignored. See for yourself: --set peer_knows_client=false (nothing is
created), then add --set arp_accept=1 (now it is).

Your task: write `resolve(client, ip, timeout)` returning the MAC of `ip` as
a string like "02:00:00:00:01:20", or None if nobody answered in `timeout`
seconds.

  - Build frames with scapy: `from scapy.layers.l2 import Ether, ARP`, then
    `Ether(dst=...) / ARP(op=..., hwsrc=..., psrc=..., hwdst=..., pdst=...)`.
  - Fill in every address yourself, from `client.mac` and `client.ip`: the
    point is to know what each field of the question holds, not to let scapy
    guess it. `client.send` refuses an Ether frame without an explicit `dst`.
    (Your code runs inside the client machine, so scapy's own srp1()/sendp()
    work too, on the client's eth0; the client.* helpers are quicker.)
  - client.sr1(frame, timeout=t)  sends the frame and returns the first frame
                                  answering it (an ARP reply whose psrc is the
                                  pdst you asked for), or None after t seconds;
    client.send(frame)            sends it without waiting;
    client.recv(match, timeout=t) returns the next received frame for which
                                  match(frame) is true, or None.
    Frames that arrive during your call and that no sr1()/recv() took are
    kept, oldest first, for the next one (nothing from before your call).
  - Time: each call of resolve() may take 3 s in all, but it must give up
    after `timeout` seconds (with at most half a second over) when nobody
    answers. Nothing here is sent again while you think.

Hand in a Python file defining `resolve` and run:
    protolab run arp --solution my_arp.py

What is checked, on the capture of the client LAN: your who-has is an
Ethernet broadcast of type 0x0806 with op 1 and the right sender and target
fields; peer's is-at names its own MAC and comes straight back to the
client's MAC; nobody claims 10.0.1.99; the announcement has the shape of a
gratuitous ARP. And outside the capture: resolve() returned peer's MAC and
None for 10.0.1.99 in time, and peer's kernel learned the client's MAC from
your question and took the announced MAC.

Parameters: resolve, unresolved, gratuitous (true/false) choose the parts;
missing is the address nobody holds; wait is resolve()'s timeout for it;
peer_knows_client and arp_accept set the stage for part 3.
"""

BROADCAST = "ff:ff:ff:ff:ff:ff"
UNKNOWN_MAC = "00:00:00:00:00:00"
ETH_TYPE_ARP = 0x0806
WHO_HAS, IS_AT = 1, 2
NEW_MAC = "02:00:00:01:01:10"  # the client's "new network card" announced in part 3
PEER_TIMEOUT = 1.0  # resolve()'s timeout for peer: it returns as soon as peer answers
SLACK = 0.5  # seconds resolve() may overrun its timeout (process start, scheduling)
PARTS = ("resolve", "unresolved", "gratuitous")


def resolve(client, ip: str, timeout: float) -> str | None:
    """Ask the LAN who has `ip`; return its MAC, or None if nobody answers within `timeout` s."""
    question = Ether(dst=BROADCAST) / ARP(
        op=WHO_HAS, hwsrc=client.mac, psrc=client.ip, hwdst=UNKNOWN_MAC, pdst=ip
    )
    answer = client.sr1(question, timeout=timeout)
    if answer is None:
        return None
    return answer[ARP].hwsrc  # the SENDER of the is-at is the machine we asked about


def announce(client, mac: str) -> None:
    """Gratuitous ARP (the lab's part): tell the whole LAN that the client's IP now lives at `mac`."""
    client.send(Ether(src=mac, dst=BROADCAST) / ARP(op=WHO_HAS, hwsrc=mac, psrc=client.ip, hwdst=UNKNOWN_MAC, pdst=client.ip))


# -- the lab -----------------------------------------------------------------


def chosen_parts(params: Mapping[str, Any], topology) -> tuple[str, ...]:
    """The parts to run, in order; bad parameter values become a one-line LabError."""
    parts = tuple(p for p in PARTS if params[p])
    if not parts:
        raise LabError("arp: every part is switched off (resolve, unresolved, gratuitous): nothing to run")
    try:
        missing = ipaddress.IPv4Address(params["missing"])
    except ValueError:
        raise LabError(f"arp: missing={params['missing']!r} is not an IPv4 address") from None
    if missing in (topology.node("client").ip, topology.node("peer").ip):
        raise LabError(f"arp: missing={missing} is a lab machine's address: choose one nobody holds, like 10.0.1.99")
    if params["arp_accept"] not in (0, 1, 2):
        raise LabError(f"arp: arp_accept={params['arp_accept']} must be 0, 1 or 2")
    if params["wait"] <= 0:
        raise LabError(f"arp: wait={params['wait']} must be above 0 seconds")
    return parts


def announced_mac_expected(knows_client: bool, arp_accept: int) -> str | None:
    """What peer should hold for the client after the announcement: the new MAC if it
    had an entry to update or accepts unsolicited ARP (1, or 2: same subnet), else nothing."""
    return NEW_MAC if knows_client or arp_accept else None


def procedure(ctx: LabContext) -> None:
    params = ctx.params
    parts = chosen_parts(params, ctx.topology)
    client, missing = ctx.host("client"), params["missing"]
    peer, peer_if = ctx.node("peer"), ctx.topology.node("peer").interfaces[0].name
    lan = ctx.topology.node("client").interfaces[0].lan
    on_lan = [ctx.node(node.name) for node, _ in ctx.topology.members(lan)]

    # A clean, known start: empty neighbour tables on the client LAN (the router's
    # whole table), and peer's ARP settings fixed (a namespace starts with copies
    # of the host machine's). At the end the tables are emptied again: the announced
    # MAC is not real, and a wrong solution's frames may have taught worse.
    ctx.use(emptied_caches(on_lan))
    settings = {"arp_accept": params["arp_accept"], "arp_ignore": 0, "arp_filter": 0, "drop_gratuitous_arp": 0}
    ctx.use(arp_settings(peer, peer_if, settings))
    ctx.say(f"{lan}: neighbour tables of {', '.join(n.name for n in on_lan)} emptied; peer: arp_accept={params['arp_accept']}")

    if "resolve" in parts:
        _resolve_peer(ctx, client, peer)
    if "unresolved" in parts:
        _resolve_nobody(ctx, client, missing, params["wait"])
    if "gratuitous" in parts:
        _announce(ctx, client, peer, peer_if)


def _resolve_peer(ctx: LabContext, client, peer: NodeHandle) -> None:
    peer_ip = ctx.ip("peer")
    ctx.say(f"client: your resolve() asks who has {peer_ip}")
    mac = _mac(ctx.call_student(client, peer_ip, PEER_TIMEOUT))
    ctx.fact("resolved", mac)
    ctx.say(f"client: resolve({peer_ip!r}) returned {mac!r}")
    learned = neighbour(peer, client.ip)
    ctx.fact("peer.client_mac", learned.mac if learned else None)
    ctx.fact("peer.client_state", learned.state if learned else None)
    ctx.say(f"peer: neighbour table: {_show(learned, client.ip)}")


def _resolve_nobody(ctx: LabContext, client, missing: str, wait: float) -> None:
    ctx.say(f"client: your resolve() asks who has {missing} (nobody does), timeout {wait:g} s")
    answer = _mac(ctx.call_student(client, missing, wait))
    seconds = ctx.last_call_seconds or 0.0  # the call itself, not the sandbox launcher's first start
    ctx.fact("unresolved.answer", answer)
    ctx.fact("unresolved.seconds", round(seconds, 3))
    ctx.say(f"client: resolve({missing!r}) returned {answer!r} after {seconds * 1000:.0f} ms")


def _announce(ctx: LabContext, client, peer: NodeHandle, peer_if: str) -> None:
    knows = ctx.params["peer_knows_client"]
    entry = neighbour(peer, client.ip)
    if knows and (entry is None or entry.mac != client.mac):
        set_neighbour(peer, client.ip, client.mac, peer_if, "STALE")
        ctx.say(f"peer: given an entry {client.ip} → {client.mac}, as if the two had talked before")
    elif not knows and entry is not None:
        forget_neighbour(peer, client.ip)
        ctx.say(f"peer: its entry for {client.ip} deleted: peer has never heard of the client")
    before = neighbour(peer, client.ip)
    ctx.fact("peer.before_announcement", before.mac if before else None)
    ctx.say(f"client: gratuitous ARP: {client.ip} is-at {NEW_MAC} (a new network card), to everyone")
    announce(client, NEW_MAC)
    expected = announced_mac_expected(knows, ctx.params["arp_accept"])
    if expected:  # the kernel handles the frame as it is sent: this normally returns at once
        after = wait_for_neighbour(peer, client.ip, lambda e: e is not None and e.mac == expected, timeout=0.2)
    else:  # proving a non-event: give the kernel a moment
        after = wait_for_neighbour(peer, client.ip, lambda e: False, timeout=0.02)
    ctx.fact("peer.after_announcement", after.mac if after else None)
    ctx.say(f"peer: neighbour table: {_show(after, client.ip)}")


def _show(entry: Neighbour | None, ip: str) -> str:
    return str(entry) if entry else f"no entry for {ip}"


def _mac(value: Any) -> Any:
    """A returned MAC in the lab's spelling (lower case); anything else as it is."""
    return value.strip().lower() if isinstance(value, str) else value


def expectation(topology, params) -> Expectation:
    parts = chosen_parts(params, topology)
    client, peer = topology.node("client"), topology.node("peer")
    client_ip, peer_ip, missing = str(client.ip), str(peer.ip), params["missing"]
    steps: list[Step] = []
    never: list[Never] = []
    facts: list[Check] = []
    if "resolve" in parts:
        steps += [
            Step(
                f"who-has {peer_ip}",
                # the client's first ARP question that is neither part 2's nor the announcement
                match=(SentBy("client"), Layer("arp"), F("arp.pdst") != missing, F("arp.psrc") != F("arp.pdst")),
                checks=_question_checks(client.mac, client_ip, peer_ip),
                hint="A who-has asks everyone (Ethernet broadcast) with op 1; the sender fields are the "
                "client's own MAC and IP, the target IP is the address being looked up.",
            ),
            Step(
                "is-at from peer",
                match=(SentBy("peer"), Layer("arp"), F("arp.op") == IS_AT),
                checks=(
                    Check(F("arp.hwsrc") == peer.mac, "the answer names peer's MAC in its sender field hwsrc"),
                    Check(F("arp.psrc") == peer_ip, "the answer is about peer's IP (sender field psrc)"),
                    Check(F("arp.pdst") == client_ip, "the answer is addressed to the asker's IP (target field pdst)"),
                    Check(F("arp.hwdst") == client.mac, "the answer is addressed to the asker's MAC (target field hwdst)"),
                    Check(F("eth.dst") == client.mac, "the answer goes straight back to the client (unicast, not broadcast)"),
                ),
                hint="peer's kernel answers a who-has only when it reaches it (an Ethernet broadcast or peer's own "
                "MAC), has op 1, asks for peer's IP (pdst) and comes from an address on its LAN (psrc); it sends "
                "the is-at to whatever MAC the question gave as hwsrc.",
            ),
        ]
        facts += [
            Check(Fact("resolved") == peer.mac, f"resolve() returned the MAC that peer's is-at names in hwsrc, {peer.mac} "
                  "(the reply's hwdst, or the question's hwsrc, is the client's own MAC)"),
            Check(Fact("peer.client_mac") == client.mac, f"peer's kernel learned {client_ip} → {client.mac} from the question "
                  "(the hwsrc and psrc of a who-has are believed as they are)"),
        ]
    if "unresolved" in parts:
        steps.append(
            Step(
                f"who-has {missing}",
                match=(SentBy("client"), Layer("arp"), F("arp.pdst") == missing),
                checks=_question_checks(client.mac, client_ip, missing),
                hint=f"resolve() must ask for {missing} too: the only way to learn nobody holds it is to ask.",
            )
        )
        never.append(
            Never(
                f"nobody claims {missing}",
                match=(Layer("arp"), F("arp.op") == IS_AT, F("arp.psrc") == missing),
                why=f"A machine answered for {missing}, so the address is in use: choose one nobody holds (--set missing=...).",
            )
        )
        facts += [
            Check(Fact("unresolved.answer") == None, f"resolve() reported {missing} as unresolved (returned None)"),  # noqa: E711
            Check(Fact("unresolved.seconds") <= params["wait"] + SLACK,
                  f"resolve() gave up when its timeout ({params['wait']:g} s) had passed ({SLACK:g} s slack)"),
        ]
    if "gratuitous" in parts:
        steps.append(
            Step(
                "gratuitous ARP",
                match=(SentBy("client"), Layer("arp"), F("arp.psrc") == client_ip, F("arp.pdst") == client_ip),
                checks=(
                    Check(F("eth.dst") == BROADCAST, "an announcement is for everyone: Ethernet broadcast"),
                    Check(F("arp.op") == WHO_HAS, "it has the form of a question (op 1), as Linux sends it"),
                    Check(F("arp.hwsrc") == NEW_MAC, f"it names the new MAC {NEW_MAC} in hwsrc"),
                    Check(F("eth.src") == NEW_MAC, "it comes from the new card (Ethernet source): switches learn its port"),
                ),
            )
        )
        expected = announced_mac_expected(params["peer_knows_client"], params["arp_accept"])
        if params["peer_knows_client"]:
            says = f"peer's kernel replaced its entry: {client_ip} → {NEW_MAC}"
        elif expected:
            says = f"peer's kernel created an entry {client_ip} → {NEW_MAC} from the announcement (arp_accept={params['arp_accept']})"
        else:
            says = f"peer's kernel ignored the announcement: it had no entry for {client_ip}, and arp_accept=0 creates none"
        facts.append(Check(Fact("peer.after_announcement") == expected, says))
    return Expectation(name="ARP by hand", steps=tuple(steps), never=tuple(never), facts=tuple(facts))


def _question_checks(mac: str, ip: str, target: str) -> tuple[Check, ...]:
    return (
        Check(F("eth.type") == ETH_TYPE_ARP, "EtherType 0x0806 (ARP)"),
        Check(F("eth.dst") == BROADCAST, "the question goes to everyone, ff:ff:ff:ff:ff:ff: the client cannot "
              f"address {target}'s owner by MAC, it does not know the MAC yet (that is the question)"),
        Check(F("arp.op") == WHO_HAS, "op 1 (who-has, a request): an is-at (op 2) is an answer, and nobody answers an answer"),
        Check(F("arp.hwsrc") == mac, "the sender MAC (hwsrc) is the client's own: the answer is sent to it"),
        Check(F("arp.psrc") == ip, "the sender IP (psrc) is the client's own: the sender fields describe the asker"),
        Check(F("arp.pdst") == target, f"the target IP (pdst) is the address being looked up, {target}"),
    )


LAB = Lab(
    name="arp",
    title="ARP by hand: resolution and the neighbour cache",
    summary="Resolve a neighbour's MAC with a hand-made who-has; meet silence; watch a gratuitous ARP update a cache",
    instructions=INSTRUCTIONS,
    student=resolve,
    procedure=procedure,
    expectation=expectation,
    columns=("client", "peer", "router"),
    params={
        "resolve": True,
        "unresolved": True,
        "gratuitous": True,
        "missing": "10.0.1.99",
        "wait": 0.02,
        "peer_knows_client": True,
        "arp_accept": 0,
    },
    limits={"arp_accept": OneOf(0, 1, 2), "wait": Range(0.0, 5.0)},
    param_help={
        "resolve": "run part 1: resolve(client, peer's IP, 1.0)",
        "unresolved": "run part 2: resolve() of the address nobody holds",
        "gratuitous": "run part 3: the lab's gratuitous ARP, watched in peer's cache",
        "missing": "the address nobody holds, asked in part 2",
        "wait": "the timeout (s) resolve() gets in part 2",
        "peer_knows_client": "part 3: peer has an entry for the client before the announcement",
        "arp_accept": "part 3: peer's net.ipv4.conf.*.arp_accept (1: a gratuitous ARP creates an entry)",
    },
    timeout=3.0,
    facts={
        "resolved": "the MAC your resolve() returned for peer",
        "peer.client_mac": "the MAC peer's kernel holds for the client after your question (None: no entry)",
        "peer.client_state": "the state of that neighbour entry (STALE, REACHABLE, ...)",
        "unresolved.answer": "what your resolve() returned for the unused address",
        "unresolved.seconds": "how long that call took, in seconds",
        "peer.before_announcement": "the client's MAC in peer's cache before the gratuitous ARP",
        "peer.after_announcement": "the client's MAC in peer's cache after it",
    },
)
