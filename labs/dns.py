"""DNS resolution by hand: walk the delegation from the root to the answer.

The lab runs a real DNS hierarchy (NSD for ".", lab. and example.lab. /
shop.lab. on three nodes, Unbound as the recursive resolver); its zone data is
the zone files in protolab/topology/zones/, and every expectation below is
computed from them, so editing a zone file changes what is expected.
"""

from __future__ import annotations

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from protolab.expect import Check, Expectation, F, Fact, Never, SentBy, Step, V
from protolab.expect.records import FrameTime, Records, records_text
from protolab.lab import Lab, LabContext
from protolab.models.answers import answer_text, check_question, reply_result, shortened
from protolab.models.dnsplan import Exchange, plan_walk
from protolab.models.zones import DnsData
from protolab.report.delegation import render_delegation
from protolab.servers import dnsclient
from protolab.servers.hierarchy import DnsServers

INSTRUCTIONS = """\
A recursive resolver answers "what is the address of www.example.lab?" by
asking a chain of authoritative servers, starting at the root. No server knows
the whole answer: each one either answers for its own zone or refers you to
the servers of a deeper zone.

  1. Ask the root server (its address is all you start with). It does not
     know www.example.lab, but it knows who serves lab.: its answer is a
     REFERRAL — no answer records, AA=0, the NS records of lab. in the
     authority section and, when it has them, their addresses ("glue") in the
     additional section.
  2. Ask the server the referral names, the same question. It refers you on,
     to the servers of example.lab.
  3. Ask that server. It is authoritative for the name: its answer has AA=1
     and carries the records. Stop there.

Your task: write `resolve(client, root_ip, name, qtype)` that resolves a name
that way, by hand, and returns `(rcode, records)`: the response code as text
("NOERROR", "NXDOMAIN") and every record of the answer as a tuple
(owner, type, value), e.g. ("www.example.lab.", "A", "10.0.2.80"). Records
may come in any order; owners with or without the final dot; a TXT value as
its plain text (A DNS message ...) or quoted as dnspython's to_text() writes
it ("A DNS message ..."), both are taken. Along a CNAME chain, return every
record of the chain and the records at its end.

  - The arguments: `client` (below); `root_ip`, the root server's address,
    the only one you start with; `name` and `qtype`, the question (--set
    name=... qtype=...; www.example.lab and A by default).
  - Send your questions with RD=0 (recursion desired off: you do the
    recursion) to UDP port 53, and without EDNS (plain 512-byte DNS: no OPT
    record; dnspython's make_query() adds none unless you ask, scapy's DNS()
    neither). A query with EDNS fails its step.
  - Time: each call may take 5 s in all; a server here answers in well
    under a millisecond, and nothing is sent again while you think.
  - `client` works inside the client machine:
      client.udp_socket()          a UDP socket in the client (non-blocking);
      client.tcp_socket(ip)        a TCP socket connected to ip:53;
      client.sr1(pkt) / send(pkt)  hand-made packets, as in earlier labs.
    With dnspython:  q = dns.message.make_query(name, qtype); q.flags &= ~dns.flags.RD
                     reply = dns.query.udp(q, server_ip, timeout=1, sock=client.udp_socket())
    With scapy:      from scapy.layers.dns import DNS, DNSQR
                     client.sr1(IP(dst=ip) / UDP(sport=..., dport=53) / DNS(rd=0, qd=DNSQR(qname=name)))
  - Match every response to your question by its transaction id.
  - Your code runs inside the client machine, so dnspython's own sockets
    (dns.query.udp(q, server_ip) without sock=) and plain socket.socket()
    work too and act there; nothing outside the lab answers.
  - Cases the lab's names exercise (choose with --set name=... qtype=...):
      www.example.lab      the plain walk: root → lab. → example.lab.
      www.shop.lab         lab. refers to dns.example.lab. but gives no glue
                           (the name lies outside shop.lab.): resolve that
                           server's name first, with a walk of its own from
                           the root, then ask it.
      alias.example.lab    a CNAME chain whose end, portal.lab., lies in a zone
                           example.lab's server does not serve: keep the chain
                           and start a new walk from the root for its target.
      nothere.example.lab  the name does not exist: NXDOMAIN with AA=1 and the
                           zone's SOA in the authority section. That is an answer.
      big.example.lab TXT  too big for 512 bytes: the UDP answer comes back
                           truncated (TC=1); ask the same server again over TCP
                           port 53 (client.tcp_socket, dns.query.tcp).

Hand in a Python file defining `resolve` and run:
    protolab run dns --solution my_dns.py [--set name=www.shop.lab]

The capture is checked question by question: each query goes to the right
server with RD=0, each response is matched by its id, referrals have AA=0 and
name the next zone's servers, the final answer has AA=1 and exactly the
records of the zone file. Then the lab asks the resolver (Unbound, 10.0.2.53)
the same question twice: your answer must equal its answer, and the second
time it must answer from its cache without asking the root again.
"""


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
    query = dns.message.make_query(name, qtype)  # no EDNS: at most 512 bytes over UDP
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


# -- the lab ---------------------------------------------------------------------

def procedure(ctx: LabContext) -> None:
    check_question(ctx.params["name"], ctx.params["qtype"])
    servers = ctx.use(DnsServers(ctx.deployment))
    data = servers.data
    ctx.say(
        f"DNS up in {servers.ready_after * 1000:.0f} ms: "
        + ", ".join(f"{n} {data.addresses[n]} ({' '.join(z.origin for z in data.served_by(n))})" for n in data.servers)
        + f", resolver {data.resolver_address} (Unbound, empty cache)"
    )
    client = ctx.host("client")
    name, qtype = ctx.params["name"], ctx.params["qtype"]
    root_ip = data.root_hints()[0][1]
    ctx.say(f"client: your resolve() walks {name} {qtype} starting from the root server {root_ip}")
    ctx.fact("answer.yours", answer_text(plain_txt(ctx.call_student(client, root_ip, name, qtype))))
    ctx.say(f"client: your resolve() returned {shortened(ctx.facts['answer.yours'])}")
    walk_plan = plan_walk(DnsData.from_topology(ctx.topology), name, qtype)
    ctx.fact("answer.yours vs the zone files",
             answer_difference(ctx.facts["answer.yours"], answer_text(plain_txt((walk_plan.rcode, walk_plan.answer())))))
    for attempt, key in ((1, "answer.resolver"), (2, "answer.resolver.again")):
        try:
            reply = dnsclient.ask(client, data.resolver_address, name, qtype)  # RD=1: the resolver does the walk
        except (dns.exception.DNSException, OSError) as exc:
            ctx.problems.append(f"the resolver did not answer the lab's question: {exc or type(exc).__name__}")
            ctx.fact(key, "no answer from the resolver")
            continue
        ctx.fact(key, answer_text(plain_txt(reply_result(reply))))
        ctx.say(f"client: asked the resolver ({'again, ' if attempt == 2 else ''}RD=1): {shortened(ctx.facts[key])}")
        if attempt == 1:
            ctx.fact("answer.yours vs the resolver's", answer_difference(ctx.facts["answer.yours"], ctx.facts[key]))


def plain_txt(result):
    """(rcode, records) with every TXT value as its plain text: '"hello world"' (dnspython's
    to_text(), several strings each quoted) and 'hello world' read the same; anything else as it is."""
    try:
        rcode, records = result
        rows = [(o, t, _txt_text(v) if str(t).upper() == "TXT" else v) for o, t, v in records]
    except (TypeError, ValueError):
        return result
    return rcode, rows


def _txt_text(value) -> str:
    text = str(value)
    if not text.startswith('"'):
        return text
    try:
        rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, text)
    except (dns.exception.DNSException, ValueError):
        return text
    return b"".join(rdata.strings).decode("utf-8", "backslashreplace")


def answer_difference(yours: str, expected: str, shown: int = 2) -> str:
    """How one answer line differs from another, briefly: 'none', or the response code and at most
    `shown` records missing and `shown` records too many, each cut short."""
    if yours == expected:
        return "none"
    if yours.startswith("not an (rcode, records) pair"):
        return shortened(yours, 120)
    (rcode, _, mine), (want_rcode, _, want) = yours.partition(": "), expected.partition(": ")
    have, need = _records(mine), _records(want)
    parts = [f"rcode {rcode}, expected {want_rcode}"] if rcode != want_rcode else []
    for what, records in (("missing", need - have), ("not expected", have - need)):
        if records:
            listed = "; ".join(shortened(r, 50) for r in sorted(records)[:shown])
            more = f" and {len(records) - shown} more" if len(records) > shown else ""
            parts.append(f"{what} {len(records)} record{'s' if len(records) > 1 else ''}: {listed}{more}")
    return ", ".join(parts) or "the same records, written differently"


def _records(text: str) -> set[str]:
    return set() if text == "(none)" else set(text.split("; "))


# -- what the capture must show ------------------------------------------------------

def expectation(topology, params) -> Expectation:
    data = DnsData.from_topology(topology)
    walk_plan = plan_walk(data, params["name"], params["qtype"])
    client, resolver = str(topology.node("client").ip), data.resolver_address
    steps: list[Step] = []
    before = None
    for k, exchange in enumerate(walk_plan.exchanges, 1):
        steps.extend(exchange_steps(k, exchange, before, client))
        before = exchange
    steps.extend(resolver_steps(walk_plan.qname, client, resolver, data.root_hints()[0][1]))
    return Expectation(
        name=f"resolve {walk_plan.qname} {walk_plan.qtype} by hand",
        steps=tuple(steps),
        never=(
            Never(
                "the resolver answers the second question from its cache",
                match=(SentBy(data.resolvers[0]), F("ip.src") == resolver, F("dns.qr").is_(False),
                       FrameTime() > V("asked_again_at")),
                why="The resolver asked another server after the second question: it did not answer from its cache.",
            ),
        ),
        facts=(
            Check(Fact("answer.yours vs the zone files") == "none", "your resolve() returns the answer of the zone files"),
            Check(Fact("answer.yours vs the resolver's") == "none", "your answer equals the resolver's answer to the same question"),
        ),
    )


def exchange_steps(k: int, e: Exchange, before: Exchange | None, client: str) -> list[Step]:
    """The query and the response of one exchange of the planned walk (plus the TCP retry)."""
    what = f"{e.qname} {e.qtype}"
    why = {"server address": " (a name server's address)", "cname target": " (the end of the CNAME chain)"}.get(e.purpose, "")
    query = Step(
        f"{k}. ask {e.node} about {what}{why}",
        match=(SentBy("client"), F("ip.dst") == e.server, F("udp.dport") == 53, F("dns.qr").is_(False),
               F("dns.qname") == e.qname, F("dns.qtype") == e.qtype),
        checks=(Check(F("dns.rd").is_(False), "recursion desired is off (RD=0): you do the recursion, not the server"),
                Check(F("dns.edns").is_(None), "the query has no EDNS (no OPT record): plain DNS, at most 512 bytes over UDP")),
        bind={f"id{k}": "dns.id", f"port{k}": "udp.sport"},
        hint=_query_hint(k, e, before),
    )
    response_match = (SentBy(e.node), F("ip.src") == e.server, F("ip.dst") == client, F("udp.sport") == 53,
                      F("udp.dport") == V(f"port{k}"), F("dns.qr").is_(True))
    same_id = Check(F("dns.id") == V(f"id{k}"), "the response carries the question's transaction id")
    reply = e.reply
    if reply.kind == "referral":
        glue = [(ns, "A", ip) for ns in reply.ns for ip in reply.glue.get(ns, ())]
        return [query, Step(
            f"{k}. {e.node} refers to {reply.referral}",
            match=response_match,
            checks=(
                same_id,
                Check(F("dns.aa").is_(False), "a referral is not authoritative (AA=0)"),
                Check(Records("dns.answers") == "(none)", "a referral carries no answer records"),
                Check(Records("dns.authority", "NS") == records_text((reply.referral, "NS", ns) for ns in reply.ns),
                      f"the authority section names the servers of {reply.referral}"),
                Check(Records("dns.additional", "A") == records_text(glue),
                      "the additional section gives their addresses (glue)" if glue else "it gives no address for them (no glue)"),
            ),
        )]
    final = [same_id, Check(F("dns.aa").is_(True), f"{e.node} answers with authority (AA=1)"),
             Check(F("dns.rcode") == reply.rcode, f"the response code is {reply.rcode}")]
    if reply.kind == "answer":
        final.append(Check(Records("dns.answers") == records_text(reply.answers), "it carries exactly the records of the zone file"))
    else:
        final.append(Check(Records("dns.authority", "SOA") == records_text([reply.soa]), f"the SOA of {reply.zone} is in the authority section"))
    said = {"answer": "answers", "nxdomain": "says NXDOMAIN", "nodata": "says NOERROR, no data"}[reply.kind]
    if not e.truncated:
        return [query, Step(f"{k}. {e.node} {said} (AA)", match=response_match, checks=tuple(final))]
    return [
        query,
        Step(f"{k}. {e.node} truncates the UDP answer (TC=1)", match=response_match,
             checks=(same_id, Check(F("dns.tc").is_(True), "the UDP answer is truncated (TC=1)")),
             hint="Ask without EDNS (plain 512-byte DNS): with a big EDNS buffer the answer is not truncated."),
        Step(f"{k}. ask {e.node} again over TCP", bind={f"tcpport{k}": "tcp.sport"},
             match=(SentBy("client"), F("ip.dst") == e.server, F("tcp.dport") == 53, F("dns.qr").is_(False),
                    F("dns.qname") == e.qname, F("dns.qtype") == e.qtype),
             hint="The UDP answer had TC=1: it was cut short. Ask the same server the same question over TCP port 53."),
        Step(f"{k}. {e.node} {said} over TCP (AA)",
             match=(SentBy(e.node), F("ip.src") == e.server, F("ip.dst") == client, F("tcp.sport") == 53,
                    F("tcp.dport") == V(f"tcpport{k}"), F("dns.qr").is_(True)),
             checks=tuple(c for c in final if c is not same_id)),
    ]


def _query_hint(k: int, e: Exchange, before: Exchange | None) -> str:
    if before is None:
        return f"Start at the root server {e.server} with the question itself, over UDP port 53."
    if before.reply.kind == "referral" and not before.reply.glue and e.purpose == "server address" and before.purpose != e.purpose:
        return f"The referral gave no address for {e.qname}: resolve it first, with a walk of its own from the root."
    if before.reply.kind != "referral" and e.purpose == "cname target":
        return "The answer ended in a CNAME to a name in another zone: keep the chain and start a new walk from the root for its target."
    return f"Ask the server the previous referral named ({e.server}), found in the glue or by resolving its name."


def resolver_steps(qname: str, client: str, resolver: str, root: str) -> list[Step]:
    ask_it = (SentBy("client"), F("ip.dst") == resolver, F("dns.qr").is_(False), F("dns.qname") == qname)
    answer = (SentBy("resolver"), F("ip.src") == resolver, F("ip.dst") == client, F("dns.qr").is_(True))
    return [
        Step("the lab asks the resolver the same question", match=ask_it, bind={"rid": "dns.id"},
             checks=(Check(F("dns.rd").is_(True), "a question to a resolver asks for recursion (RD=1)"),)),
        Step("the resolver starts its walk at the root",
             match=(SentBy("resolver"), F("ip.src") == resolver, F("ip.dst") == root, F("dns.qr").is_(False)),
             hint="With an empty cache, the resolver has to begin at the root server of its hints."),
        Step("the resolver answers", match=(*answer, F("dns.id") == V("rid")),
             checks=(Check(F("dns.ra").is_(True), "the resolver offers recursion (RA=1)"),)),
        Step("the lab asks the resolver again", match=(*ask_it, F("dns.id") != V("rid")),
             bind={"rid2": "dns.id", "asked_again_at": FrameTime()}),
        Step("the resolver answers again", match=(*answer, F("dns.id") == V("rid2"))),
    ]


def delegation_view(trace, topology):
    data = DnsData.from_topology(topology)
    owners = {ip: node for node, ip in data.addresses.items()}
    zones = {data.addresses[node]: tuple(z.origin for z in data.served_by(node)) for node in data.servers}
    return render_delegation(trace, owners, zones, askers=("client", *data.resolvers),
                             title="Delegation walk, as seen on the wire (zone → server → what it said)")


LAB = Lab(
    name="dns",
    title="DNS resolution by hand, from the root",
    summary="Walk the DNS delegation from the root server to the authoritative answer, like a resolver",
    instructions=INSTRUCTIONS,
    student=resolve,
    procedure=procedure,
    expectation=expectation,
    columns=("client", "router", "resolver", "root", "tld", "auth"),
    params={"name": "www.example.lab", "qtype": "A"},
    param_help={
        "name": "the name to resolve (your `name`): www.example.lab, www.shop.lab, alias.example.lab, "
                "nothere.example.lab, big.example.lab, or any name of the lab's zones",
        "qtype": "the record type asked for (your `qtype`): A, TXT, NS, SOA, CNAME, ...",
    },
    timeout=5.0,
    views=(delegation_view,),
    facts={
        "answer.yours": "what your resolve() returned, as one line: 'RCODE: owner TYPE value; ...'",
        "answer.resolver": "the resolver's answer to the same question, the same way",
        "answer.resolver.again": "the resolver's answer when asked a second time (from its cache)",
        "answer.yours vs the zone files": ("how your answer differs from the zone files' ('none': it does not)", str),
        "answer.yours vs the resolver's": ("how your answer differs from the resolver's ('none': it does not)", str),
    },
)
