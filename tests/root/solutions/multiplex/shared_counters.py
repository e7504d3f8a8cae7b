"""Keeps one pair of counters for both connections: B's segments carry A's numbers."""

import random

from scapy.layers.inet import IP, TCP, UDP


def multiplex(client, server_ip, port, client_ports, messages, stray_port, udp_ports):
    seq = ack = 0
    for n, sport in enumerate(client_ports):
        isn = random.randrange(2**32)
        synack = client.sr1(IP(dst=server_ip) / TCP(sport=sport, dport=port, flags="S", seq=isn), timeout=1.0)
        client.send(IP(dst=server_ip) / TCP(sport=sport, dport=port, flags="A", seq=isn + 1, ack=synack[TCP].seq + 1))
        if n == 0:
            seq, ack = isn + 1, synack[TCP].seq + 1  # "the" connection's numbers
    for turn in range(2):
        for sport, theirs in zip(client_ports, messages):
            client.send(IP(dst=server_ip) / TCP(sport=sport, dport=port, flags="PA", seq=seq % 2**32, ack=ack % 2**32)
                        / theirs[turn])
            seq += len(theirs[turn])
    client.sr1(IP(dst=server_ip) / TCP(sport=stray_port, dport=port, flags="PA", seq=1, ack=1) / b"anyone?", timeout=1.0)
    for udp_port in udp_ports:
        client.send(IP(dst=server_ip) / UDP(sport=stray_port, dport=udp_port) / f"for port {udp_port}".encode())
