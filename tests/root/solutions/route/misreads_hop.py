"""Reads the hop from the quote inside an ICMP error (the probe's own destination) instead of its sender."""
from ipaddress import ip_address, ip_network

from scapy.layers.inet import ICMP, IP, IPerror
from scapy.layers.l2 import ARP, Ether


def probe(client, dst, ttl, lan):
    next_hop = dst if ip_address(dst) in ip_network(lan) else client.gateway
    is_at = client.sr1(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(hwsrc=client.mac, psrc=client.ip, pdst=next_hop), timeout=1)
    frame = Ether(dst=is_at[ARP].hwsrc) / IP(src=client.ip, dst=dst, ttl=ttl) / ICMP(id=1, seq=ttl)
    answer = client.sr1(frame, timeout=1)
    if answer is None:
        return None
    hop = answer[IPerror].dst if IPerror in answer else answer[IP].src
    return {"from": hop, "type": answer[ICMP].type, "code": answer[ICMP].code}
