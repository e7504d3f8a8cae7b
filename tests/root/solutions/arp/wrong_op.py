"""Asks with op 2 (is-at): an answer nobody asked for, so nobody replies."""
from scapy.layers.l2 import ARP, Ether


def resolve(client, ip, timeout):
    question = Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(op=2, hwsrc=client.mac, psrc=client.ip, pdst=ip)
    answer = client.sr1(question, timeout=timeout)
    return answer[ARP].hwsrc if answer is not None else None
