"""Sends its FIN right behind the data, without waiting for web's ACK of the data.

Both segments are built first and sent back to back through a raw socket, so
the FIN is certainly on the wire before web's ACK (scapy takes about a
millisecond to build a segment, longer than web takes to acknowledge)."""
import socket

from scapy.layers.inet import IP, TCP


def send_and_close(client, conn, data, closer):
    def from_web(flags):
        return lambda f: TCP in f and f[TCP].sport == conn.dport and f[TCP].dport == conn.sport and flags in str(f[TCP].flags)

    def segment(flags, seq, ack):
        return IP(src=conn.src, dst=conn.dst) / TCP(sport=conn.sport, dport=conn.dport, flags=flags, seq=seq, ack=ack)

    seq = (conn.seq + len(data)) % 2**32
    both = [bytes(segment("PA", conn.seq, conn.ack) / data), bytes(segment("FA", seq, conn.ack))]
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as raw:
        for packet in both:  # no wait between them
            raw.sendto(packet, (conn.dst, 0))
    fin = client.recv(from_web("F"), timeout=1.0)
    client.send(segment("A", (seq + 1) % 2**32, (fin[TCP].seq + 1) % 2**32))
