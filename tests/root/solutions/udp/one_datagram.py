"""Sends the three messages in one datagram: a single message, a single echo."""

from scapy.layers.dns import DNS, DNSQR
from scapy.layers.inet import IP, TCP, UDP


def compare(client, server_ip, port, closed_port, client_port, messages, dns_ip, name):
    client.send(IP(dst=server_ip) / UDP(sport=client_port, dport=port) / b"".join(messages))
    frame = client.recv(lambda f: UDP in f and f[UDP].sport == port, timeout=1.0)
    echoes = [frame[UDP]] if frame is not None else []
    sock = client.tcp_socket(server_ip, port)
    for message in messages:
        sock.send(message)
    sock.close()
    client.sr1(IP(dst=server_ip) / UDP(sport=client_port, dport=closed_port) / b"anyone?", timeout=1.0)
    client.sr1(IP(dst=server_ip) / TCP(sport=client_port, dport=closed_port, flags="S"), timeout=1.0)
    answer = client.sr1(IP(dst=dns_ip) / UDP(sport=client_port, dport=53) / DNS(rd=0, qd=DNSQR(qname=name)), timeout=1.0)
    return {"echoes": [bytes(u.payload) for u in echoes], "lengths": [u.len for u in echoes],
            "checksums": [u.chksum for u in echoes], "address": answer[DNS].an.rdata}
