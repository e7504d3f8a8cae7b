"""Takes the root's referral for the answer: returns after the first response."""
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype


def resolve(client, root_ip, name, qtype="A"):
    query = dns.message.make_query(name, qtype)
    query.flags &= ~dns.flags.RD
    with client.udp_socket() as sock:
        reply = dns.query.udp(query, root_ip, timeout=1.0, sock=sock)
    records = [(r.name.to_text(), dns.rdatatype.to_text(r.rdtype), d.to_text()) for r in reply.answer for d in r]
    return dns.rcode.to_text(reply.rcode()), records  # NOERROR and no records: not an answer at all
