"""Returns the scapy packets that came back instead of their payloads."""

from scapy.layers.inet import IP, UDP


def echo(client, server_ip, port, closed_port, client_port, messages):
    answers = [client.sr1(IP(dst=server_ip) / UDP(sport=client_port, dport=port) / m, timeout=1.0) for m in messages]
    client.sr1(IP(dst=server_ip) / UDP(sport=client_port, dport=closed_port) / b"anyone?", timeout=1.0)
    return answers
