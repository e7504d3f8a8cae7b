"""Takes the MAC from the wrong field: the is-at's hwdst, which is the asker's own MAC
(the source of its own question), not the answer."""
from scapy.layers.l2 import ARP, Ether


def resolve(client, ip, timeout):
    question = Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=client.mac, psrc=client.ip, pdst=ip)
    answer = client.sr1(question, timeout=timeout)
    return answer[ARP].hwdst if answer is not None else None
