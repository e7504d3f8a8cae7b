"""The DNS walk with dnspython's own sockets (no sock=): what its documentation shows."""
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype


def resolve(client, root_ip, name, qtype="A"):
    records, target = [], name
    for _ in range(8):
        reply = walk(root_ip, root_ip, target, qtype)
        records += [(rrset.name.to_text(), dns.rdatatype.to_text(rrset.rdtype), rdata.to_text())
                    for rrset in reply.answer for rdata in rrset]
        rcode = dns.rcode.to_text(reply.rcode())
        target = cname_target(reply, target, qtype)
        if rcode != "NOERROR" or target is None:
            return rcode, records
    raise RuntimeError("CNAME chain too long")


def walk(root_ip, server, name, qtype):
    for _ in range(10):
        query = dns.message.make_query(name, qtype)
        query.flags &= ~dns.flags.RD
        reply = dns.query.udp(query, server, timeout=1.0)
        if reply.flags & dns.flags.TC:
            reply = dns.query.tcp(query, server, timeout=1.0)
        if reply.flags & dns.flags.AA:
            return reply
        servers = [rdata.target.to_text() for rrset in reply.authority if rrset.rdtype == dns.rdatatype.NS for rdata in rrset]
        glue = {rrset.name.to_text(): rdata.address for rrset in reply.additional
                if rrset.rdtype == dns.rdatatype.A for rdata in rrset}
        known = [glue[ns] for ns in servers if ns in glue]
        if known:
            server = known[0]
        else:
            _, found = resolve(None, root_ip, servers[0], "A")
            server = next(value for _, kind, value in found if kind == "A")
    raise RuntimeError("too many referrals")


def cname_target(reply, name, qtype):
    owners = {rrset.name.to_text().lower(): rrset for rrset in reply.answer}
    current = name.lower().rstrip(".") + "."
    while current in owners and owners[current].rdtype == dns.rdatatype.CNAME:
        current = owners[current][0].target.to_text().lower()
    done = current in owners and dns.rdatatype.to_text(owners[current].rdtype) == qtype.upper()
    return None if done or current == name.lower().rstrip(".") + "." else current
