"""Forgets that the data moved seq on: the FIN reuses the data's sequence number."""
from scapy.layers.inet import IP, TCP


def send_and_close(client, conn, data, closer):
    def from_web(frame):
        return TCP in frame and frame[TCP].sport == conn.dport and frame[TCP].dport == conn.sport

    def segment(flags, seq, ack):
        return IP(dst=conn.dst) / TCP(sport=conn.sport, dport=conn.dport, flags=flags, seq=seq, ack=ack)

    client.send(segment("PA", conn.seq, conn.ack) / data)
    client.recv(from_web, timeout=0.5)  # web's ACK of the data
    client.send(segment("FA", conn.seq, conn.ack))  # should be conn.seq + len(data)
    expected = (conn.seq + 1) % 2**32
    if client.recv(lambda f: from_web(f) and f[TCP].ack == expected, timeout=0.5) is None:
        raise RuntimeError("web did not acknowledge my FIN")
