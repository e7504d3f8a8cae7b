"""Sender and target IP swapped: asks who has the client's own address, in peer's name."""
from scapy.layers.l2 import ARP, Ether


def resolve(client, ip, timeout):
    question = Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=client.mac, psrc=ip, pdst=client.ip)
    answer = client.sr1(question, timeout=timeout)
    return answer[ARP].hwsrc if answer is not None else None
