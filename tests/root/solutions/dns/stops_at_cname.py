"""Walks to the first authoritative answer and stops there: the CNAME chain is not followed to its end."""
import dns.flags, dns.message, dns.query, dns.rcode, dns.rdatatype

def resolve(client, root_ip, name, qtype="A"):
    server = root_ip
    for _ in range(10):
        q = dns.message.make_query(name, qtype); q.flags &= ~dns.flags.RD
        with client.udp_socket() as s:
            r = dns.query.udp(q, server, timeout=1, sock=s)
        if r.flags & dns.flags.AA:
            return dns.rcode.to_text(r.rcode()), [(rr.name.to_text(), dns.rdatatype.to_text(rr.rdtype), d.to_text()) for rr in r.answer for d in rr]
        glue = {rr.name.to_text(): d.address for rr in r.additional if rr.rdtype == 1 for d in rr}
        ns = [d.target.to_text() for rr in r.authority for d in rr if rr.rdtype == 2]
        server = glue[ns[0]]
