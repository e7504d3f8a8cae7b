"""The expectation core: match observed frames against expectations. No I/O."""

from .expr import AnyOf, Context, F, Fact, Field, Flags, Layer, OnLink, SentBy, Unknowable, V, Var
from .match import check
from .model import START, Check, Expectation, Never, Step
from .trace import Frame, Trace, make_trace
from .verdict import ItemResult, Status, Verdict

__all__ = [
    "AnyOf", "Check", "Context", "Expectation", "F", "Fact", "Field", "Flags", "Frame", "ItemResult", "Layer",
    "Never", "OnLink", "START", "SentBy", "Status", "Step", "Trace", "Unknowable", "V", "Var", "Verdict", "check", "make_trace",
]
