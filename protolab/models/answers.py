"""DNS questions and answers as labs compare them: one line per answer, the same
for a student's result, a resolver's reply and the zone files' expectation."""

from __future__ import annotations

import hashlib
from typing import Any

import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

from ..errors import LabError
from ..expect.records import records_text

VALUE_WIDTH = 32  # characters of a record's value kept in the line (a digest stands for the rest)


def check_question(name: str, qtype: str) -> None:
    """A one-line LabError for a name or record type no one can ask about."""
    try:
        dns.name.from_text(name)
    except dns.exception.DNSException as exc:
        raise LabError(f"name={name!r} is not a domain name ({exc})") from None
    try:
        dns.rdatatype.from_text(qtype)
    except dns.exception.DNSException:
        raise LabError(f"qtype={qtype!r} is not a DNS record type (A, TXT, NS, SOA, CNAME, ...)") from None


def reply_result(reply: dns.message.Message) -> tuple[str, list[tuple[str, str, str]]]:
    """A reply as (rcode, [(owner, type, value), ...]) of its answer section."""
    records = [(rrset.name.to_text(), dns.rdatatype.to_text(rrset.rdtype), rdata.to_text())
               for rrset in reply.answer for rdata in rrset]
    return dns.rcode.to_text(reply.rcode()), records


def answer_text(result: Any) -> str:
    """(rcode, records) as one comparable line: "NOERROR: www.example.lab. A 10.0.2.80"
    (a long value is cut, with a digest of the whole of it so it still compares exactly);
    anything else says what it is instead."""
    try:
        rcode, records = result
        rows = [(_owner(o), str(t).upper(), _value(str(v))) for o, t, v in records]
    except (TypeError, ValueError):
        return f"not an (rcode, records) pair: {result!r}"[:200]
    return f"{str(rcode).upper()}: {records_text(rows)}"


def shortened(text: str, width: int = 90) -> str:
    """`text` cut to `width` characters for a narration line."""
    return text if len(text) <= width else text[: width - 1] + "…"


def _value(text: str) -> str:
    if len(text) <= VALUE_WIDTH:
        return text
    return f"{text[:VALUE_WIDTH]}… [sha1 {hashlib.sha1(text.encode()).hexdigest()[:8]}]"


def _owner(owner: Any) -> str:
    text = str(owner).lower()
    return text if text.endswith(".") else text + "."
