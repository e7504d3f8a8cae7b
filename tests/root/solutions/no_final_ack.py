"""Stops after reading the SYN-ACK: the handshake is never completed."""
from scapy.layers.inet import IP, TCP


def connect(client, server_ip, server_port, client_port):
    syn = IP(dst=server_ip) / TCP(sport=client_port, dport=server_port, flags="S", seq=1000)
    return client.sr1(syn, timeout=2) is not None
