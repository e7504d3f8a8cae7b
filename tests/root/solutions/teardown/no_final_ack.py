"""Closes first, sees web's FIN, and never acknowledges it."""
from scapy.layers.inet import IP, TCP


def send_and_close(client, conn, data, closer):
    def from_web(flags):
        return lambda f: TCP in f and f[TCP].sport == conn.dport and f[TCP].dport == conn.sport and flags in str(f[TCP].flags)

    def segment(flags, seq, ack):
        return IP(dst=conn.dst) / TCP(sport=conn.sport, dport=conn.dport, flags=flags, seq=seq, ack=ack)

    seq = (conn.seq + len(data)) % 2**32
    client.send(segment("PA", conn.seq, conn.ack) / data)
    client.recv(from_web("A"), timeout=0.5)
    client.send(segment("FA", seq, conn.ack))
    client.recv(from_web("F"), timeout=0.5)  # web's FIN arrives... and nothing answers it
