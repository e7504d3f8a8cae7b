"""Sends the segment 'for no connection' from connection A's port: web has a socket for that 4-tuple."""

import random

from scapy.layers.inet import IP, TCP, UDP


def multiplex(client, server_ip, port, client_ports, messages, stray_port, udp_ports):
    conns = []
    for sport in client_ports:
        isn = random.randrange(2**32)
        synack = client.sr1(IP(dst=server_ip) / TCP(sport=sport, dport=port, flags="S", seq=isn), timeout=1.0)
        seq, ack = (isn + 1) % 2**32, (synack[TCP].seq + 1) % 2**32
        client.send(IP(dst=server_ip) / TCP(sport=sport, dport=port, flags="A", seq=seq, ack=ack))
        conns.append([sport, seq, ack])
    for turn in range(2):
        for conn, theirs in zip(conns, messages):
            client.send(IP(dst=server_ip) / TCP(sport=conn[0], dport=port, flags="PA", seq=conn[1], ack=conn[2]) / theirs[turn])
            conn[1] = (conn[1] + len(theirs[turn])) % 2**32
    client.sr1(IP(dst=server_ip) / TCP(sport=client_ports[0], dport=port, flags="PA", seq=1, ack=1) / b"anyone?", timeout=1.0)
    for udp_port in udp_ports:
        client.send(IP(dst=server_ip) / UDP(sport=stray_port, dport=udp_port) / f"for port {udp_port}".encode())
