"""The expectation core: match observed frames against expectations. No I/O.

Values (expr.py): F/Field, V/Var, Fact, Seq, SeqNumber; conditions (cond.py):
comparisons, .isin, .is_, .between, Flags, Layer, SentBy, OnLink, AnyOf (|),
& and ~; the shape of an expectation (model.py): Step, InAnyOrder, Either,
Phase, Check, Never, START; HTTP messages (http.py): Request, Response, Header,
SameConnection, AnswersTo, Nth; matching (match.py): check.
"""

from .cond import AnyOf, Cond, Flags, Layer, OnLink, SentBy
from .expr import Context, F, Fact, Field, Seq, SeqNumber, Unknowable, V, Var
from .http import AnswersTo, Header, Nth, Request, Response, SameConnection
from .match import check
from .model import START, Check, Either, Expectation, InAnyOrder, Never, Phase, Step
from .trace import Frame, Trace, make_trace
from .verdict import ItemResult, Status, Verdict

__all__ = [
    "AnswersTo", "AnyOf", "Check", "Cond", "Context", "Either", "Expectation", "F", "Fact", "Field", "Flags", "Frame", "Header", "InAnyOrder",
    "ItemResult", "Layer", "Never", "Nth", "OnLink", "Phase", "Request", "Response", "SameConnection", "START", "SentBy", "Seq", "SeqNumber", "Status", "Step", "Trace",
    "Unknowable", "V", "Var", "Verdict", "check", "make_trace",
]
