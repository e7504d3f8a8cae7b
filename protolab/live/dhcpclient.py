"""A DHCP client made of hand-built frames, for a lab's own side and for tests (not the student's).

    answer = dora(host, xid=0x5eed)              # Discover, Offer, Request, Ack from `host`'s interface
    answer.address, answer.options["router"]     # what the server handed out
    host.send(release_frame(host.mac, answer))   # and give it back

Frames go out as raw Ethernet from 0.0.0.0:68 to 255.255.255.255:67 (a
machine without an address has no other way), replies are matched by their
transaction id and the client's MAC, never with scapy's conf.checkIPaddr.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
CLIENT_PORT, SERVER_PORT = 68, 67
BROADCAST_FLAG = 0x8000
KINDS = {1: "discover", 2: "offer", 3: "request", 4: "decline", 5: "ack", 6: "nak", 7: "release", 8: "inform"}


def _chaddr(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def client_frame(mac: str, xid: int, options: list, *, ciaddr: str = "0.0.0.0", broadcast: bool = True,
                 src: str = "0.0.0.0", dst: str = "255.255.255.255", eth_dst: str = BROADCAST_MAC) -> Ether:
    """A BOOTREQUEST from `mac` (by default from 0.0.0.0:68, broadcast to 255.255.255.255:67)."""
    return (Ether(src=mac, dst=eth_dst) / IP(src=src, dst=dst) / UDP(sport=CLIENT_PORT, dport=SERVER_PORT)
            / BOOTP(op=1, xid=xid, flags=BROADCAST_FLAG if broadcast else 0, ciaddr=ciaddr, chaddr=_chaddr(mac))
            / DHCP(options=[*options, "end"]))


def discover(mac: str, xid: int, broadcast: bool = True) -> Ether:
    return client_frame(mac, xid, [("message-type", "discover"), ("param_req_list", [1, 3, 6, 15])], broadcast=broadcast)


def request(mac: str, xid: int, address: str, server_id: str | None) -> Ether:
    """A Request in the SELECTING state: the offered address (option 50) and the chosen server (54)."""
    options: list = [("message-type", "request"), ("requested_addr", address)]
    if server_id is not None:
        options.insert(1, ("server_id", server_id))
    return client_frame(mac, xid, options)


def release_frame(mac: str, xid: int, address: str, server_id: str, server_mac: str) -> Ether:
    """A DHCPRELEASE: unicast from the leased address to the server (RFC 2131 4.4.6)."""
    return client_frame(mac, xid, [("message-type", "release"), ("server_id", server_id)], ciaddr=address,
                        broadcast=False, src=address, dst=server_id, eth_dst=server_mac)


def options_of(frame: Ether) -> dict[str, Any]:
    """The DHCP options of a frame by scapy's names ('message-type' as a word: 'offer', 'ack', ...)."""
    found: dict[str, Any] = {}
    for option in frame[DHCP].options if DHCP in frame else ():
        if isinstance(option, tuple) and len(option) >= 2:
            name, values = option[0], option[1:]
            found[name] = values[0] if len(values) == 1 else values
    kind = found.get("message-type")
    if isinstance(kind, int):
        found["message-type"] = KINDS.get(kind, str(kind))
    return found


def reply_to(mac: str, xid: int) -> Callable[[Ether], bool]:
    """recv()'s match for a server's reply to this client's transaction."""
    chaddr = _chaddr(mac)

    def match(frame: Ether) -> bool:
        return (BOOTP in frame and frame[BOOTP].op == 2 and frame[BOOTP].xid == xid
                and bytes(frame[BOOTP].chaddr)[:6] == chaddr)
    return match


@dataclass(frozen=True)
class Answer:
    """How a DORA ended: ACK (an address), NAK, or no reply."""

    kind: str  # "ack", "nak", "no offer", "no answer"
    address: str | None = None
    server_id: str | None = None
    server_mac: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


def dora(host, xid: int, *, want: str | None = None, timeout: float = 1.0) -> Answer:
    """Discover, Offer, Request (the offered address, or `want`), Ack or Nak, from `host` (a live.host.Host)."""
    mac = host.mac
    host.send(discover(mac, xid))
    offer = host.recv(reply_to(mac, xid), timeout=timeout)
    if offer is None or options_of(offer).get("message-type") != "offer":
        return Answer("no offer")
    server_id = options_of(offer).get("server_id")
    host.send(request(mac, xid, want or offer[BOOTP].yiaddr, server_id))
    reply = host.recv(reply_to(mac, xid), timeout=timeout)
    if reply is None:
        return Answer("no answer", server_id=server_id)
    options = options_of(reply)
    address = reply[BOOTP].yiaddr if options.get("message-type") == "ack" else None
    return Answer(options.get("message-type", "?"), address, server_id, reply[Ether].src, options)
