"""Adds one to conn.ack (which already is web's ISN + 1): the data acknowledges a byte web never sent."""
from scapy.layers.inet import IP, TCP


def send_and_close(client, conn, data, closer):
    def from_web(frame):
        return TCP in frame and frame[TCP].sport == conn.dport and frame[TCP].dport == conn.sport

    ack = (conn.ack + 1) % 2**32  # wrong: conn.ack is already the next number web will send
    client.send(IP(dst=conn.dst) / TCP(sport=conn.sport, dport=conn.dport, flags="PA", seq=conn.seq, ack=ack) / data)
    expected = (conn.seq + len(data)) % 2**32
    if client.recv(lambda f: from_web(f) and f[TCP].ack == expected, timeout=0.5) is None:
        raise RuntimeError("web did not acknowledge my data")
