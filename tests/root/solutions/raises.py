"""Sends the SYN, then crashes."""
from scapy.layers.inet import IP, TCP


def connect(client, server_ip, server_port, client_port):
    client.send(IP(dst=server_ip) / TCP(sport=client_port, dport=server_port, flags="S", seq=7))
    raise ValueError("forgot how to read a SYN-ACK")
