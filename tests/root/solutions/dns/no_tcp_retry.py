"""Walks correctly, but takes a truncated UDP answer (TC=1) as the final one."""
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype


def resolve(client, root_ip, name, qtype="A"):
    server = root_ip
    for _ in range(10):
        query = dns.message.make_query(name, qtype)
        query.flags &= ~dns.flags.RD
        with client.udp_socket() as sock:
            reply = dns.query.udp(query, server, timeout=1.0, sock=sock)
        if reply.flags & dns.flags.AA:  # TC=1 is not looked at: the truncated answer is empty
            records = [(r.name.to_text(), dns.rdatatype.to_text(r.rdtype), d.to_text()) for r in reply.answer for d in r]
            return dns.rcode.to_text(reply.rcode()), records
        glue = [d.address for r in reply.additional if r.rdtype == dns.rdatatype.A for d in r]
        server = glue[0]
    raise RuntimeError("too many referrals")
