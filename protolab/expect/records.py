"""Two more expressions for expectations: a frame's capture time, and DNS records as text.

    Records("dns.authority", "NS") == "lab. NS ns1.nic.lab."
    FrameTime() > V("asked_again_at")

Records reads a section of the `dns` layer (tuples of (owner, type, value)),
keeps one type (or all), and writes them sorted, one "owner TYPE value" per
record joined by "; " — "(none)" for an empty section — so a section compares
with the records of a zone file whatever order the server sent them in, and a
mismatch reads as records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from ..errors import AuthorError
from .expr import Context, Expr
from .trace import MissingField

SECTIONS = ("dns.answers", "dns.authority", "dns.additional")

NONE = "(none)"


def records_text(records: Iterable[tuple[str, str, str]]) -> str:
    """Records as "owner TYPE value; ..." in sorted order, or "(none)"."""
    lines = sorted(" ".join(str(part) for part in record) for record in records)
    return "; ".join(lines) if lines else NONE


@dataclass(frozen=True, eq=False)
class Records(Expr):
    """The records of a DNS section of the frame (of one type, if given), as sorted text."""

    path: str  # "dns.answers", "dns.authority" or "dns.additional"
    rdtype: str | None = None

    def __post_init__(self) -> None:
        if self.path not in SECTIONS:
            raise AuthorError(f"Records({self.path!r}): a DNS section is one of {', '.join(SECTIONS)}")

    def eval(self, ctx: Context) -> str:
        if ctx.frame is None:
            raise MissingField(self.path)
        section = ctx.frame.get(self.path)
        return records_text(r for r in section if self.rdtype is None or r[1] == self.rdtype)

    def text(self) -> str:
        return f"{self.rdtype + ' records' if self.rdtype else 'records'} of {self.path}"


@dataclass(frozen=True, eq=False)
class FrameTime(Expr):
    """When the frame under test was captured (seconds since the first frame)."""

    def eval(self, ctx: Context) -> float:
        if ctx.frame is None:
            raise MissingField("frame time")
        return ctx.frame.time

    def text(self) -> str:
        return "frame time"
