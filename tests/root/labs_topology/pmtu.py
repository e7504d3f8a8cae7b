"""A lab on a network of its own (pmtu.toml: the server LAN's MTU is 1400): a
packet too big for it, with DF set, is answered by the router with ICMP
"fragmentation needed" naming the next hop's MTU. Used by test_lab_topology.py."""

from scapy.layers.inet import ICMP, IP, UDP

from protolab.expect import Check, Expectation, F, Fact, Step
from protolab.lab import Lab


def probe(client, server_ip: str):
    """Send 1450 bytes with DF to web; return the MTU the router's ICMP error names."""
    reply = client.sr1(IP(dst=server_ip, flags="DF") / UDP(sport=40000, dport=9) / (b"x" * 1450), timeout=1.0)
    return reply[ICMP].nexthopmtu if reply is not None and ICMP in reply else None


def procedure(ctx):
    ctx.fact("mtu", ctx.call_student(ctx.host("client"), ctx.ip("web")))


def expectation(topology, params):
    router = str(topology.node("router").interface_on("lan1").ip)
    return Expectation(
        name="path MTU",
        steps=(
            Step("too big for the server LAN", match=(F("ip.dst") == str(topology.node("web").ip), F("ip.len") > 1400)),
            Step("fragmentation needed", match=(F("ip.src") == router, F("icmp.type") == 3, F("icmp.code") == 4)),
        ),
        facts=(Check(Fact("mtu") == topology.lan("lan2").mtu, "the router names the server LAN's MTU"),),
    )


LAB = Lab(name="pmtu", title="path MTU", summary="a smaller MTU on the server LAN", instructions="-",
          student=probe, procedure=procedure, expectation=expectation, columns=("client", "router", "web"),
          topology="pmtu.toml", facts={"mtu": "the next-hop MTU probe() read from the router's ICMP error"})
