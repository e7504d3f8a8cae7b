"""The right walk, but every query advertises EDNS with a 4096-byte buffer."""
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype


def resolve(client, root_ip: str, name: str, qtype: str = "A"):
    """Resolve name/qtype iteratively from the root; return (rcode, [(owner, type, value), ...])."""
    records = []
    target = name
    for _ in range(8):  # each round follows the CNAME chain one zone further
        reply = walk(client, root_ip, root_ip, target, qtype)
        records += [(rrset.name.to_text(), dns.rdatatype.to_text(rrset.rdtype), rdata.to_text())
                    for rrset in reply.answer for rdata in rrset]
        rcode = dns.rcode.to_text(reply.rcode())
        target = cname_target(reply, target, qtype)
        if rcode != "NOERROR" or target is None:
            return rcode, records
    raise RuntimeError(f"the CNAME chain of {name} is too long")


def walk(client, root_ip: str, server: str, name: str, qtype: str):
    """Follow referrals from `server` until a server answers with AA=1."""
    for _ in range(10):
        reply = ask(client, server, name, qtype)
        if reply.flags & dns.flags.AA:
            return reply
        servers = [rdata.target.to_text() for rrset in reply.authority
                   if rrset.rdtype == dns.rdatatype.NS for rdata in rrset]
        if not servers:
            raise RuntimeError(f"{server} neither answered nor referred for {name}")
        glue = {rrset.name.to_text(): rdata.address for rrset in reply.additional
                if rrset.rdtype == dns.rdatatype.A for rdata in rrset}
        known = [glue[ns] for ns in servers if ns in glue]
        if known:
            server = known[0]
        else:  # no glue: find the server's address with a walk of its own
            _, found = resolve(client, root_ip, servers[0], "A")
            server = next(value for _, kind, value in found if kind == "A")
    raise RuntimeError(f"too many referrals for {name}")


def ask(client, server: str, name: str, qtype: str):
    """One question to one server, RD=0, over UDP; again over TCP if the answer was truncated."""
    query = dns.message.make_query(name, qtype, use_edns=0, payload=4096)  # EDNS, a big buffer
    query.flags &= ~dns.flags.RD
    with client.udp_socket() as sock:
        reply = dns.query.udp(query, server, timeout=1.0, sock=sock)
    if reply.flags & dns.flags.TC:
        with client.tcp_socket(server) as sock:
            reply = dns.query.tcp(query, server, timeout=1.0, sock=sock)
    return reply


def cname_target(reply, name: str, qtype: str):
    """Where the answer's CNAME chain leads if the records asked for are not there yet."""
    owners = {rrset.name.to_text().lower(): rrset for rrset in reply.answer}
    current = name.lower().rstrip(".") + "."
    while current in owners and owners[current].rdtype == dns.rdatatype.CNAME:
        current = owners[current][0].target.to_text().lower()
    done = current in owners and dns.rdatatype.to_text(owners[current].rdtype) == qtype.upper()
    return None if done or current == name.lower().rstrip(".") + "." else current
