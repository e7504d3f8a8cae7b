"""DHCP by hand: a machine without an address rents one from a real dnsmasq, in four messages."""

from __future__ import annotations

import ipaddress

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from protolab.errors import BackendError
from protolab.expect import START, Check, Expectation, F, Fact, Layer, SentBy, Step, V
from protolab.kernel.addresses import configure, unconfigured
from protolab.kernel.neighbours import flush_neighbours
from protolab.kernel.ping import ping
from protolab.lab.api import Lab, LabContext, Range
from protolab.live.bare import BareHost
from protolab.live.dhcpclient import dora as lab_dora, release_frame
from protolab.servers.dnsmasq import DhcpConfig, DnsmasqServer

INSTRUCTIONS = """\
A server in a data centre has its address typed in once and keeps it, like a
flat you own and furnish yourself. A laptop joining a network rents one
instead: DHCP (Dynamic Host Configuration Protocol) hands it an address, a
mask, a gateway and DNS servers, for a lease of limited time; when it leaves
it gives the address back. DHCP grew out of BOOTP, and every DHCP message is
a BOOTP message (a capture tool may still call it BOOTP) whose options say
what kind of DHCP message it is. It runs over UDP: the client on port 68, the
server on port 67.

The client has no address yet, so it cannot name itself or the server: it
sends from 0.0.0.0 to 255.255.255.255 (Ethernet ff:ff:ff:ff:ff:ff), and the
server knows it by its MAC (`chaddr`) and the transaction id (`xid`) it
picked. Four messages, "DORA":

  1. client → everyone  DISCOVER  xid, chaddr, broadcast flag (0x8000): "answer by broadcast,
                                  I cannot take a unicast packet yet"
  2. server → everyone  OFFER     the same xid; yiaddr ("your address"); options 54 server id,
                                  51 lease time, 1 mask, 3 router, 6 DNS servers
  3. client → everyone  REQUEST   the same xid; option 50 the offered address, option 54 the
                                  server whose offer it takes (every server on the LAN hears it:
                                  the others withdraw theirs)
  4. server → everyone  ACK       the lease is the client's (or NAK: no, start again)

The client in this lab really has no address: the lab took it off, and puts
it back at the end. `client.ip` is "0.0.0.0"; the dhcp machine (10.0.1.2)
runs dnsmasq with a pool of 10.0.1.100 to 10.0.1.149 and a 120 s lease.

Your task: write `dora(client, xid, ask)`:
  1. send a DISCOVER with transaction id `xid`, your MAC (client.mac) in chaddr and the
     broadcast flag set;
  2. read the OFFER for your xid: the address, the server id and the options;
  3. send a REQUEST with the same xid for the offered address (or for `ask` when it is
     not None), naming the offering server;
  4. read the ACK and return {"address": "10.0.1.1xx", "prefix": 24, "router": "10.0.1.1",
     "dns": ["10.0.2.53"]} from it; after a NAK, return None.
Build the frames with scapy (from scapy.layers.l2 import Ether; scapy.layers.inet: IP, UDP;
scapy.layers.dhcp: BOOTP, DHCP):
    Ether(dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255")
      / UDP(sport=68, dport=67) / BOOTP(op=1, xid=xid, flags=0x8000, chaddr=<6 bytes of your MAC>)
      / DHCP(options=[("message-type", "discover"), "end"])
send them with client.send(frame), and read the answer with
client.recv(match, timeout=1.0), your own `match` picking a BOOTP reply (op 2) with your
xid (sr1 cannot pair a broadcast with its answer). The options of a reply are
frame[DHCP].options, a list of (name, value) pairs: "message-type" (2 offer, 5 ack,
6 nak), "server_id", "lease_time", "subnet_mask", "router", "name_server".

Then the lab configures the client with what you returned and proves it: the
client's kernel ARPs for the gateway from its new address and pings it. A
second machine, peer, rents an address too (it must get another one), and the
lab gives your address back with a DHCPRELEASE, which the server's lease file
shows. See a refusal: --set ask=10.0.1.50 (outside the pool: the server NAKs).

    protolab run dhcp --solution my_dhcp.py
"""

BROADCAST_MAC, EVERYONE, NOBODY = "ff:ff:ff:ff:ff:ff", "255.255.255.255", "0.0.0.0"
OFFER, ACK, NAK = 2, 5, 6
POOL = (100, 149)  # host numbers of the client LAN dnsmasq hands out
LEASE = 120  # seconds


def dora(client, xid: int, ask: str | None):
    """Discover, Offer, Request, Ack: rent an address; its configuration, or None after a NAK."""
    mac = bytes.fromhex(client.mac.replace(":", ""))

    def send(options):
        client.send(Ether(dst=BROADCAST_MAC) / IP(src=NOBODY, dst=EVERYONE) / UDP(sport=68, dport=67)
                    / BOOTP(op=1, xid=xid, flags=0x8000, chaddr=mac) / DHCP(options=[*options, "end"]))
        reply = client.recv(lambda f: BOOTP in f and f[BOOTP].op == 2 and f[BOOTP].xid == xid, timeout=1.0)
        options = dict(o for o in reply[DHCP].options if isinstance(o, tuple)) if reply is not None else {}
        return reply, options

    offer, offered = send([("message-type", "discover")])
    if offered.get("message-type") != OFFER:
        return None
    address = ask or offer[BOOTP].yiaddr
    ack, options = send([("message-type", "request"), ("requested_addr", address), ("server_id", offered["server_id"])])
    if options.get("message-type") != ACK:
        return None  # a NAK: the server will not lease that address
    prefix = ipaddress.IPv4Network(f"0.0.0.0/{options['subnet_mask']}").prefixlen
    dns = [a for o in ack[DHCP].options if isinstance(o, tuple) and o[0] == "name_server" for a in o[1:]]
    return {"address": ack[BOOTP].yiaddr, "prefix": prefix, "router": options["router"], "dns": dns}


def procedure(ctx: LabContext) -> None:
    p, topo = ctx.params, ctx.topology
    node, iface = ctx.node("client"), topo.node("client").interfaces[0].name
    server = ctx.use(DnsmasqServer(ctx.node("dhcp"), DhcpConfig.for_node(topo, "dhcp", POOL, lease_time=LEASE)))
    ctx.use(unconfigured(node, iface))  # back as the topology says when the run ends, also after an error
    client = BareHost(node)
    ctx.stack.callback(client.close)
    ctx.say(f"client: {iface} has no address; dhcp: dnsmasq hands out {server.config.pool_start}-{server.config.pool_end}")
    got = ctx.call_student(client, p["xid"], p["ask"] or None)
    ctx.fact("returned", got)
    for key in ("address", "prefix", "router", "dns"):
        value = got.get(key) if isinstance(got, dict) else None
        ctx.fact(f"returned.{key}", list(value) if isinstance(value, (list, tuple)) else value)
    lease = server.wait_lease(client.mac, timeout=0.1 if got else 0.0)
    ctx.fact("lease", lease.ip if lease else None)
    if p["ask"]:
        return  # the NAK case: nothing was leased, nothing to configure
    configured = _apply(node, iface, got)
    ctx.fact("configured", configured)
    if configured == "ok":
        flush_neighbours(node)  # the gateway's MAC is learned anew, from the new address
        ctx.say(f"client: configured {got['address']}/{got['prefix']}, default route via {got['router']}; ping it")
    ctx.fact("gateway.reached", configured == "ok" and ping(node, str(got["router"]), timeout=0.5) is not None)
    peer = lab_dora(ctx.host("peer"), (p["xid"] + 1) & 0xFFFFFFFF)
    ctx.fact("peer.address", peer.address)
    ctx.say(f"peer: leased {peer.address}")
    if lease is None:
        ctx.fact("lease.after_release", None)  # nothing leased, nothing to give back
    else:
        client.send(release_frame(client.mac, p["xid"] ^ 0x1, lease.ip, server.server_id, topo.node("dhcp").mac))
        left = server.wait_lease(client.mac, present=False)
        ctx.fact("lease.after_release", left.ip if left else None)


def _apply(node, iface: str, got) -> str:
    """Configure what the student returned: "ok", or why it cannot be."""
    if not isinstance(got, dict):
        return f"nothing to apply: dora() returned {got!r}, not a dict"
    try:
        address = ipaddress.IPv4Interface(f"{got.get('address')}/{got.get('prefix')}")
        configure(node, iface, str(address.ip), address.network.prefixlen, gateway=str(ipaddress.IPv4Address(got.get("router"))))
    except (ValueError, BackendError) as exc:
        return f"cannot be applied: {exc}"
    return "ok"


def expectation(topology, params) -> Expectation:
    client, server, peer = topology.node("client"), topology.node("dhcp"), topology.node("peer")
    router, ask = str(client.gateway), params["ask"]
    config = DhcpConfig.for_node(topology, "dhcp", POOL, lease_time=LEASE)
    first, last = int(ipaddress.IPv4Address(config.pool_start)), int(ipaddress.IPv4Address(config.pool_end))
    pool = tuple(str(ipaddress.IPv4Address(n)) for n in range(first, last + 1))
    sid, xid = str(server.ip), params["xid"]
    mine = (F("bootp.chaddr") == client.mac,)
    broadcast = (Check(F("eth.dst") == BROADCAST_MAC, "it goes to every machine (Ethernet ff:ff:ff:ff:ff:ff): "
                       "the client knows no server yet"),
                 Check(F("ip.src") == NOBODY, "it comes from 0.0.0.0: the client has no address yet"),
                 Check(F("ip.dst") == EVERYONE, "it goes to 255.255.255.255, the broadcast of the LAN the client is on"))
    steps = [
        Step("DISCOVER", match=(SentBy("client"), F("dhcp.type") == "DISCOVER"),
             checks=(*broadcast, Check((F("udp.sport") == 68) & (F("udp.dport") == 67), "from UDP port 68 to 67"),
                     Check(F("bootp.xid") == xid, f"it carries the transaction id the lab gave, xid={xid}"),
                     Check(F("bootp.chaddr") == client.mac, "chaddr is the client's own MAC: the server knows it by it"),
                     Check(F("bootp.broadcast").is_(True), "the broadcast flag (0x8000) asks for a broadcast answer")),
             bind={"xid": "bootp.xid"},
             hint="Send a BOOTP request (op 1) with DHCP option message-type discover, from 0.0.0.0:68 to 255.255.255.255:67."),
        Step("OFFER", match=(SentBy("dhcp"), F("dhcp.type") == "OFFER", *mine),
             checks=(Check(F("bootp.xid") == V("xid"), "the server echoes the client's xid"),
                     Check(F("eth.dst") == BROADCAST_MAC, "broadcast, as the flag asked"),
                     Check(F("bootp.yiaddr").isin(pool), f"yiaddr is an address of the pool {pool[0]}-{pool[-1]}"),
                     Check(F("dhcp.server_id") == sid, f"option 54 names the server, {sid}"),
                     Check(F("dhcp.lease") == LEASE, f"option 51: a lease of {LEASE} s"),
                     Check(F("dhcp.router") == (router,), f"option 3: the router {router}"),
                     Check(F("dhcp.dns") == tuple(config.dns), f"option 6: the DNS server {', '.join(config.dns)}")),
             bind={"offered": "bootp.yiaddr", "server": "dhcp.server_id"},
             hint="dnsmasq answers a DISCOVER broadcast to 255.255.255.255:67. A packet from 0.0.0.0 to any other "
                  "address never reaches it: its kernel drops it (a source of 0.0.0.0 is only valid in a broadcast)."),
        Step("REQUEST", match=(SentBy("client"), F("dhcp.type") == "REQUEST"),
             checks=(*broadcast,
                     Check(F("bootp.xid") == V("xid"), "the REQUEST carries the xid of the DISCOVER and the OFFER: "
                           "the four messages are one transaction"),
                     Check(F("dhcp.server_id") == V("server"), "option 54 names the server whose offer the client takes "
                           "(every server hears the broadcast: the others withdraw their offers)"),
                     Check(F("dhcp.requested") == (ask or V("offered")),
                           f"option 50 asks for {ask}" if ask else "option 50 asks for the offered address (yiaddr of the OFFER)")),
             hint="Send the REQUEST after reading the OFFER, with option 50 requested_addr and option 54 server_id."),
        Step("NAK" if ask else "ACK", match=(SentBy("dhcp"), F("dhcp.type").isin(("ACK", "NAK")), *mine),
             checks=(Check(F("dhcp.type") == ("NAK" if ask else "ACK"),
                           f"{ask} is outside the pool: the server refuses it" if ask else "the server acknowledges the lease"),
                     Check(F("bootp.xid") == V("xid"), "the answer echoes the transaction's xid"),
                     *(() if ask else (Check(F("bootp.yiaddr") == V("offered"), "the acknowledged address is the offered one"),
                                       Check(F("dhcp.lease") == LEASE, f"option 51: the lease runs {LEASE} s")))),
             bind={} if ask else {"leased": "bootp.yiaddr"}),
    ]
    facts = []
    if ask:
        facts += [Check(Fact("returned") == None, "after a NAK dora() returns None"),  # noqa: E711
                  Check(Fact("lease") == None, f"the server leased nothing: {ask} is not its to give")]  # noqa: E711
    else:
        steps += [
            Step("ARP for the gateway", match=(SentBy("client"), Layer("arp"), F("arp.pdst") == router),
                 checks=(Check(F("arp.psrc") == V("leased"), "the client's kernel asks from its new address"),),
                 hint="The lab configures the address and route your dora() returned: return them as the ACK gave them."),
            Step("ping the gateway", match=(SentBy("client"), F("icmp.type") == 8, F("ip.dst") == router),
                 checks=(Check(F("ip.src") == V("leased"), "the echo request leaves from the leased address"),)),
            Step("the gateway answers", match=(SentBy("router"), F("icmp.type") == 0, F("ip.dst") == V("leased"))),
            Step("peer's ACK", after=START, match=(SentBy("dhcp"), F("dhcp.type") == "ACK", F("bootp.chaddr") == peer.mac),
                 checks=(Check(F("bootp.yiaddr") != V("leased"), "a second client gets another address"),)),
            Step("RELEASE", after="peer's ACK", match=(SentBy("client"), F("dhcp.type") == "RELEASE"),
                 checks=(Check(F("bootp.ciaddr") == V("leased"), "the release names the leased address in ciaddr"),)),
        ]
        facts += [
            Check(Fact("returned.address") == V("leased"), "dora() returns the address the ACK leased (yiaddr)"),
            Check(Fact("returned.prefix") == config.prefix, f"dora() returns the prefix of the mask in option 1 ({config.prefix})"),
            Check(Fact("returned.router") == router, f"dora() returns the router of option 3 ({router})"),
            Check(Fact("returned.dns") == list(config.dns), "dora() returns the DNS servers of option 6 as a list"),
            Check(Fact("lease") == V("leased"), "the server's lease file holds the client's address"),
            Check(Fact("configured") == "ok", "the configuration dora() returned can be applied"),
            Check(Fact("gateway.reached").is_(True), "configured that way, the client reaches its gateway"),
            Check(Fact("lease.after_release") == None, "after the DHCPRELEASE the lease file no longer holds it"),  # noqa: E711
        ]
    return Expectation("DHCP by hand", steps=tuple(steps), facts=tuple(facts))


def _check_params(p) -> str | None:
    if p["ask"]:
        try:
            ipaddress.IPv4Address(p["ask"])
        except ValueError:
            return f"ask={p['ask']!r} is not an IPv4 address"
    return None


LAB = Lab(
    name="dhcp", title="DHCP by hand", summary="Rent an address from a real dnsmasq with four hand-made messages (DORA)",
    instructions=INSTRUCTIONS, student=dora, procedure=procedure, expectation=expectation,
    columns=("client", "dhcp", "peer", "router"),
    params={"xid": 0x3903F326, "ask": ""},
    limits={"xid": Range(1, 0xFFFFFFFF)},
    check_params=_check_params,
    variants={"xid": Range(1, 0xFFFFFFFF)},  # with --student: a transaction id of the student's own
    facts={
        "returned": "what your dora() returned",
        "returned.*": "one entry of the configuration your dora() returned (address, prefix, router, dns)",
        "lease": "the address dnsmasq's lease file holds for the client after your dora() (None: none)",
        "configured": ("'ok', or why the returned configuration cannot be applied", str),
        "gateway.reached": ("the client, configured as returned, got an echo reply from its gateway", bool),
        "peer.address": "the address the second client, peer, leased",
        "lease.after_release": "the client's address in the lease file after the DHCPRELEASE (None: gone)",
    },
)
