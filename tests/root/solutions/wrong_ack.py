"""Off by one: acknowledges the server's ISN itself instead of ISN + 1."""
from scapy.layers.inet import IP, TCP


def connect(client, server_ip, server_port, client_port):
    syn = IP(dst=server_ip) / TCP(sport=client_port, dport=server_port, flags="S", seq=1000)
    synack = client.sr1(syn, timeout=2)
    ack = IP(dst=server_ip) / TCP(sport=client_port, dport=server_port, flags="A", seq=1001, ack=synack[TCP].seq)
    client.send(ack)
