"""A correct walk with hand-made scapy packets over UDP (and the kernel's TCP for a truncated answer)."""
import random
import struct

from scapy.layers.dns import DNS, DNSQR
from scapy.layers.inet import IP, UDP

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "TXT": 16}
NAMES = {v: k for k, v in TYPES.items()}


def resolve(client, root_ip, name, qtype="A"):
    records, target = [], fqdn(name)
    for _ in range(8):
        reply = walk(client, root_ip, target, qtype)
        rcode = {0: "NOERROR", 3: "NXDOMAIN"}.get(reply.rcode, str(reply.rcode))
        found = [(fqdn(rr.rrname), NAMES.get(rr.type, str(rr.type)), value(rr)) for rr in reply.an or []]
        records += found
        chain = {o: v for o, t, v in found if t == "CNAME"}
        end = target
        while end in chain:
            end = chain[end]
        if rcode != "NOERROR" or end == target or any(o == end and t == qtype for o, t, _ in found):
            return rcode, records
        target = end
    raise RuntimeError("CNAME chain too long")


def walk(client, root_ip, name, qtype):
    server = root_ip
    for _ in range(10):
        reply = ask(client, server, name, qtype)
        if reply.aa:
            return reply
        ns = [fqdn(rr.rdata) for rr in reply.ns or [] if rr.type == 2]
        glue = {fqdn(rr.rrname): rr.rdata for rr in reply.ar or [] if rr.type == 1}
        known = [glue[n] for n in ns if n in glue]
        if known:
            server = known[0]
        else:
            _, found = resolve(client, root_ip, ns[0], "A")
            server = next(v for _, t, v in found if t == "A")
    raise RuntimeError("too many referrals")


def ask(client, server, name, qtype):
    ident = random.randrange(65536)
    question = DNS(id=ident, rd=0, qd=DNSQR(qname=name, qtype=TYPES[qtype]))
    packet = IP(dst=server) / UDP(sport=random.randrange(20000, 30000), dport=53) / question
    answer = client.sr1(packet, timeout=1.0)
    if answer is None or DNS not in answer or answer[DNS].id != ident:
        raise RuntimeError(f"no answer from {server}")
    reply = answer[DNS]
    if reply.tc:  # truncated: the same question over TCP, through the kernel's TCP
        wire = bytes(question)
        with client.tcp_socket(server) as sock:
            sock.setblocking(True)
            sock.settimeout(1.0)
            sock.sendall(struct.pack("!H", len(wire)) + wire)
            length = struct.unpack("!H", read(sock, 2))[0]
            reply = DNS(read(sock, length))
    return reply


def read(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise RuntimeError("connection closed")
        data += chunk
    return data


def fqdn(name):
    text = name.decode() if isinstance(name, bytes) else str(name)
    return text.lower() if text.endswith(".") else text.lower() + "."


def value(rr):
    if rr.type == 16:  # TXT: the zone-file form, quoted
        return " ".join('"%s"' % s.decode() for s in rr.rdata)
    data = rr.rdata
    return fqdn(data) if isinstance(data, bytes) else str(data)
