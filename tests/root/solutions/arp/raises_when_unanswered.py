"""Correct frames, but raises instead of returning None when nobody answers."""
from scapy.layers.l2 import ARP, Ether


def resolve(client, ip, timeout):
    question = Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=client.mac, psrc=client.ip, pdst=ip)
    answer = client.sr1(question, timeout=timeout)
    if answer is None:
        raise TimeoutError(f"nobody has {ip}")
    return answer[ARP].hwsrc
