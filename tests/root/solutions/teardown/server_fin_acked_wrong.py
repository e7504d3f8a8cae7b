"""web closes first; the ACK and the FIN both acknowledge web's FIN seq instead of seq + 1."""
from scapy.layers.inet import IP, TCP


def send_and_close(client, conn, data, closer):
    def from_web(flags):
        return lambda f: TCP in f and f[TCP].sport == conn.dport and f[TCP].dport == conn.sport and flags in str(f[TCP].flags)

    def segment(flags, seq, ack):
        return IP(dst=conn.dst) / TCP(sport=conn.sport, dport=conn.dport, flags=flags, seq=seq, ack=ack)

    seq = (conn.seq + len(data)) % 2**32
    client.send(segment("PA", conn.seq, conn.ack) / data)
    client.recv(from_web("A"), timeout=0.5)
    fin = client.recv(from_web("F"), timeout=0.5)
    ack = fin[TCP].seq  # should be fin[TCP].seq + 1: a FIN uses one number
    client.send(segment("A", seq, ack))
    client.send(segment("FA", seq, ack))
    client.recv(from_web("A"), timeout=0.5)
