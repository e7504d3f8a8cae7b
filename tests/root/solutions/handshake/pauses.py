"""Right, but slow: thinks (and prints) before every segment; PAUSE is set by the test's file name."""
import random
import time

from scapy.layers.inet import IP, TCP

PAUSE = 0.5  # seconds before each segment: the SYN-ACK is sent again 1 s after the first if no ACK came


def connect(client, server_ip, server_port, client_port):
    isn = random.randrange(2**32)
    time.sleep(PAUSE)
    print(f"SYN seq={isn}")
    synack = client.sr1(IP(dst=server_ip) / TCP(sport=client_port, dport=server_port, flags="S", seq=isn), timeout=2.0)
    if synack is None:
        raise RuntimeError("no SYN-ACK")
    time.sleep(PAUSE)
    print(f"SYN-ACK seq={synack[TCP].seq}; sending the ACK")
    client.send(IP(dst=server_ip) / TCP(sport=client_port, dport=server_port, flags="A",
                                        seq=(isn + 1) % 2**32, ack=(synack[TCP].seq + 1) % 2**32))
    return isn, synack[TCP].seq
