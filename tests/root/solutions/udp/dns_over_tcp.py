"""Asks DNS over a kernel TCP connection (a handshake before the question), as for a zone transfer."""

import select

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
    query = bytes(DNS(rd=0, qd=DNSQR(qname=name)))
    conn = client.tcp_socket(dns_ip, 53)
    conn.sendall(len(query).to_bytes(2, "big") + query)
    select.select([conn], [], [], 1.0)
    reply = conn.recv(4096)
    conn.close()
    return {"echoes": [bytes(u.payload) for u in echoes], "lengths": [u.len for u in echoes],
            "checksums": [u.chksum for u in echoes], "address": DNS(reply[2:]).an.rdata}
