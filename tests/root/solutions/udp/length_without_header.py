"""Takes the UDP length for the payload's length: the 8-byte header is forgotten."""

from scapy.layers.dns import DNS, DNSQR
from scapy.layers.inet import IP, TCP, UDP


def compare(client, server_ip, port, closed_port, client_port, messages, dns_ip, name):
    for message in messages:
        client.send(IP(dst=server_ip) / UDP(sport=client_port, dport=port) / message)
    echoes = [client.recv(lambda f: UDP in f and f[UDP].sport == port, timeout=1.0)[UDP] for _ in messages]
    sock = client.tcp_socket(server_ip, port)
    for message in messages:
        sock.send(message)
    sock.close()
    client.sr1(IP(dst=server_ip) / UDP(sport=client_port, dport=closed_port) / b"anyone?", timeout=1.0)
    client.sr1(IP(dst=server_ip) / TCP(sport=client_port, dport=closed_port, flags="S"), timeout=1.0)
    answer = client.sr1(IP(dst=dns_ip) / UDP(sport=client_port, dport=53) / DNS(rd=0, qd=DNSQR(qname=name)), timeout=1.0)
    return {"echoes": [bytes(u.payload) for u in echoes], "lengths": [len(u.payload) for u in echoes],
            "checksums": [u.chksum for u in echoes], "address": answer[DNS].an.rdata}
