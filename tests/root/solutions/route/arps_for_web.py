"""Treats every address as if it were on the client's own link: asks ARP for 10.0.2.80 itself."""
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether


def probe(client, dst, ttl, lan):
    who_has = Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(hwsrc=client.mac, psrc=client.ip, pdst=dst)
    is_at = client.sr1(who_has, timeout=0.3)
    if is_at is None:
        return None  # "nobody home"
    answer = client.sr1(Ether(dst=is_at[ARP].hwsrc) / IP(src=client.ip, dst=dst, ttl=ttl) / ICMP(id=1, seq=ttl), timeout=0.3)
    return answer and {"from": answer[IP].src, "type": answer[ICMP].type, "code": answer[ICMP].code}
