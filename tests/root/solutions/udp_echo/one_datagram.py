"""Sends the three messages together in one datagram, as if UDP were a byte stream."""

from scapy.layers.inet import IP, UDP


def echo(client, server_ip, port, closed_port, client_port, messages):
    answer = client.sr1(IP(dst=server_ip) / UDP(sport=client_port, dport=port) / b"".join(messages), timeout=1.0)
    client.sr1(IP(dst=server_ip) / UDP(sport=client_port, dport=closed_port) / b"anyone?", timeout=1.0)
    return [bytes(answer[UDP].payload)] if answer is not None and UDP in answer else []
