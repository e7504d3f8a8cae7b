"""A hint joins a miss's explanation as the next sentence, with one full stop and never two."""

from protolab.expect import Expectation, F, Frame, Step, make_trace
from protolab.expect.match import check, sentences


def test_one_stop_between_sentences_even_after_a_domain_name():
    assert sentences("expected portal.lab.", "Start a new walk.") == "expected portal.lab. Start a new walk."
    assert sentences("expected 'portal.lab.'", "Start a new walk.") == "expected 'portal.lab.'. Start a new walk."
    assert sentences("no frame matches", "Send one.") == "no frame matches. Send one."
    assert sentences("no frame matches", "") == "no frame matches"


def test_no_explanation_of_a_missed_step_holds_a_doubled_dot():
    layers = {"ip": {"src": "10.0.1.10", "dst": "10.0.2.53", "proto": 17}, "udp": {"sport": 5000, "dport": 53}}
    trace = make_trace([Frame(0, 0.0, "lan1", "client", "router", layers, "a query")])
    expectation = Expectation("e", steps=(Step("to the resolver", match=(F("ip.dst") == "10.0.2.54",),
                                               hint="Ask portal.lab. again."),))
    text = "\n".join(check(expectation, trace, {}).explanations())
    assert ".." not in text and "Ask portal.lab. again." in text
