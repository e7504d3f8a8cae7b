"""Predicts the segments from its own SYN's MSS: but web's SYN-ACK announced a smaller one."""

import math
import random

from scapy.layers.inet import ICMP, IP, TCP

REPLY = 2000
TIMESTAMPS = 12


def segments(client, server_ip: str, port: int, mtu: int, size: int, client_port: int, small_mss: int, far_ip: str):
    """Predict a write's segments from the two MSS; announce a small MSS by hand; meet a narrower path."""
    # 1. the MSS each side announces, and what a write of `size` bytes becomes
    sock = client.tcp_socket(server_ip, port)
    kport = sock.getsockname()[1]
    synack = client.recv(lambda f: TCP in f and f[TCP].dport == kport and f[TCP].flags == "SA", timeout=1.0)
    options = dict(synack[TCP].options)
    mine, theirs = mtu - 40, options["MSS"]
    room = mine - (TIMESTAMPS if "Timestamp" in options else 0)
    sock.setblocking(True)
    sock.sendall(b"x" * size)
    # 2. a small MSS announced by hand: web's kernel keeps to it
    isn = random.randrange(2**32)
    answer = client.sr1(IP(dst=server_ip) / TCP(sport=client_port, dport=port, flags="S", seq=isn,
                                                options=[("MSS", small_mss)]), timeout=1.0)
    seq, ack = (isn + 1) % 2**32, (answer[TCP].seq + 1) % 2**32
    client.send(IP(dst=server_ip) / TCP(sport=client_port, dport=port, flags="A", seq=seq, ack=ack))
    small, got = [], 0
    while got < REPLY:
        frame = client.recv(lambda f: TCP in f and f[TCP].dport == client_port and len(f[TCP].payload) > 0
                            and f[IP].src == server_ip, timeout=1.0)
        if frame is None:
            break
        length = frame[IP].len - frame[IP].ihl * 4 - frame[TCP].dataofs * 4
        small.append(length)
        got += length
    client.send(IP(dst=server_ip) / TCP(sport=client_port, dport=port, flags="A", seq=seq, ack=(ack + got) % 2**32))
    # 3. a path narrower than both ends
    far = client.tcp_socket(far_ip, port)
    far.setblocking(True)
    far.sendall(b"x" * size)
    error = client.recv(lambda f: ICMP in f and f[ICMP].type == 3 and f[ICMP].code == 4, timeout=1.0)
    far.close()
    sock.close()
    return {"mss": [mine, theirs], "segments": math.ceil(size / room), "largest": min(room, size), "small": small,
            "pmtu": error[ICMP].nexthopmtu if error is not None else None}
