"""The handshake as every scapy tutorial writes it: scapy's global sr1() and send(), no lab helpers."""
import random

from scapy.all import IP, TCP, send, sr1


def connect(client, server_ip, server_port, client_port):
    isn = random.randrange(2**32)
    synack = sr1(IP(dst=server_ip) / TCP(sport=client_port, dport=server_port, flags="S", seq=isn),
                 timeout=2, verbose=False)
    if synack is None or TCP not in synack:
        raise RuntimeError("no answer to the SYN")
    server_isn = synack[TCP].seq
    send(IP(dst=server_ip) / TCP(sport=client_port, dport=server_port, flags="A", seq=(isn + 1) % 2**32,
                                 ack=(server_isn + 1) % 2**32), verbose=False)
    return isn, server_isn
