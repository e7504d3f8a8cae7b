"""Sends the who-has to 00:00:00:00:00:00 instead of the broadcast address: nobody receives it."""
from scapy.layers.l2 import ARP, Ether


def resolve(client, ip, timeout):
    question = Ether(dst="00:00:00:00:00:00") / ARP(op=1, hwsrc=client.mac, psrc=client.ip, pdst=ip)
    answer = client.sr1(question, timeout=timeout)
    return answer[ARP].hwsrc if answer is not None else None
