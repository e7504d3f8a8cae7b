"""Correct frames, but always waits 1.5 s for an answer, whatever timeout it is given."""
from scapy.layers.l2 import ARP, Ether


def resolve(client, ip, timeout):
    question = Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=client.mac, psrc=client.ip, pdst=ip)
    answer = client.sr1(question, timeout=1.5)
    return answer[ARP].hwsrc if answer is not None else None
