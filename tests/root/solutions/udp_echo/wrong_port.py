"""Sends to the classic echo port 7 whatever port the lab gave: a student who hard-coded it."""

from scapy.layers.inet import IP, UDP


def echo(client, server_ip, port, closed_port, client_port, messages):
    echoes = []
    for message in messages:
        answer = client.sr1(IP(dst=server_ip) / UDP(sport=client_port, dport=7) / message, timeout=1.0)
        echoes.append(bytes(answer[UDP].payload) if answer is not None and UDP in answer else None)
    client.sr1(IP(dst=server_ip) / UDP(sport=client_port, dport=closed_port) / b"anyone?", timeout=1.0)
    return echoes
