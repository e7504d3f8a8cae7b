"""A REQUEST for the address after the offered one (free too, but not the one offered)."""

import ipaddress

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

BROADCAST_MAC, EVERYONE, NOBODY = "ff:ff:ff:ff:ff:ff", "255.255.255.255", "0.0.0.0"
OFFER, ACK = 2, 5


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
    address = ask or str(ipaddress.IPv4Address(offer[BOOTP].yiaddr) + 1)
    ack, options = send([("message-type", "request"), ("requested_addr", address), ("server_id", offered["server_id"])])
    if options.get("message-type") != ACK:
        return None  # a NAK: the server will not lease that address
    prefix = ipaddress.IPv4Network(f"0.0.0.0/{options['subnet_mask']}").prefixlen
    dns = [a for o in ack[DHCP].options if isinstance(o, tuple) and o[0] == "name_server" for a in o[1:]]
    return {"address": ack[BOOTP].yiaddr, "prefix": prefix, "router": options["router"], "dns": dns}

