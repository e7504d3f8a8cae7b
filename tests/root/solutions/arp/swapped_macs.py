"""Sender and target MAC swapped: the question gives 00:00:00:00:00:00 as the asker's MAC."""
from scapy.layers.l2 import ARP, Ether


def resolve(client, ip, timeout):
    question = Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc="00:00:00:00:00:00", psrc=client.ip, hwdst=client.mac, pdst=ip)
    answer = client.sr1(question, timeout=timeout)
    return answer[ARP].hwsrc if answer is not None else None
