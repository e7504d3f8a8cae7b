"""A correct handshake whose ISN is the last sequence number: the SYN-ACK's ack wraps to 0."""

from scapy.layers.inet import IP, TCP


def connect(client, server_ip, server_port, client_port):
    isn = 2**32 - 1
    syn = IP(dst=server_ip) / TCP(sport=client_port, dport=server_port, flags="S", seq=isn)
    synack = client.sr1(syn, timeout=2.0)
    if synack is None or TCP not in synack:
        raise RuntimeError("no SYN-ACK")
    server_isn = synack[TCP].seq
    client.send(IP(dst=server_ip) / TCP(sport=client_port, dport=server_port, flags="A",
                                        seq=(isn + 1) % 2**32, ack=(server_isn + 1) % 2**32))
    return isn, server_isn
