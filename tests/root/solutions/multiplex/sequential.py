"""Finishes connection A (handshake and both segments) before it starts B: nothing is interleaved."""

import random

from scapy.layers.inet import IP, TCP, UDP


def multiplex(client, server_ip, port, client_ports, messages, stray_port, udp_ports):
    for sport, theirs in zip(client_ports, messages):
        isn = random.randrange(2**32)
        synack = client.sr1(IP(dst=server_ip) / TCP(sport=sport, dport=port, flags="S", seq=isn), timeout=1.0)
        seq, ack = (isn + 1) % 2**32, (synack[TCP].seq + 1) % 2**32
        client.send(IP(dst=server_ip) / TCP(sport=sport, dport=port, flags="A", seq=seq, ack=ack))
        for data in theirs:
            client.send(IP(dst=server_ip) / TCP(sport=sport, dport=port, flags="PA", seq=seq, ack=ack) / data)
            seq = (seq + len(data)) % 2**32
    client.sr1(IP(dst=server_ip) / TCP(sport=stray_port, dport=port, flags="PA", seq=1, ack=1) / b"anyone?", timeout=1.0)
    for udp_port in udp_ports:
        client.send(IP(dst=server_ip) / UDP(sport=stray_port, dport=udp_port) / f"for port {udp_port}".encode())
