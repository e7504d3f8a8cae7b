"""The journey lab's pure parts: its parameters, its expectation's phases, and the steps an instructor gives."""

from __future__ import annotations

import pytest

from protolab.lab.catalog import load_lab
from protolab.live.given import Given, NotGiven
from protolab.topology import load


@pytest.fixture(scope="module")
def lab():
    return load_lab("journey")


@pytest.mark.parametrize("changes, says", [
    ({"url": "ftp://www.example.lab/"}, "is not http://NAME/PATH"),
    ({"url": "http://www.example.lab/nothere.html"}, "web has no page /nothere.html"),
    ({"url": "http://www.example.lab/private/secret.txt"}, "web has no page /private/secret.txt"),
    ({"url": "http://alias.example.lab/"}, "alias.example.lab must be an A record of web (10.0.2.80)"),
    ({"url": "http://nothere.example.lab/"}, "nothere.example.lab must be an A record of web"),
    ({"given": "dhcp,http"}, "http is not a step that can be given (dhcp, arp, dns, tcp)"),
])
def test_parameters_that_cannot_work_are_refused_in_one_line(lab, changes, says):
    said = lab.check_params({**lab.params, **changes})
    assert said is not None and says in said


@pytest.mark.parametrize("url", ["http://www.example.lab/", "http://www.example.lab/big.html", "http://www.example.lab./"])
def test_urls_web_serves_are_taken(lab, url):
    assert lab.check_params({**lab.params, "url": url, "given": "dhcp,arp"}) is None


def test_the_expectation_has_seven_phases_and_the_walk_of_the_zones(lab):
    expectation = lab.expectation(load(), dict(lab.params))
    names = [e.name for e in expectation.steps]
    assert names[0] == "1 DHCP: an address" and names[-1] == "7 the second fetch: from the caches" and len(names) == 7
    dns_phase = expectation.steps[2]
    assert [s.name for s in dns_phase.entries][1:7] == [
        "resolver asks root", "root refers to lab.", "resolver asks tld", "tld refers to example.lab.",
        "resolver asks auth", "auth answers with AA=1"]
    assert [r.name for r in expectation.steps[-1].never] == [
        "no DHCP the second time", "no ARP from the client the second time", "no walk from the resolver the second time"]


def test_a_step_not_given_raises_not_given_before_anything_is_sent():
    class Silent:
        mac = "02:00:00:00:01:10"

        def send(self, frame):
            raise AssertionError("nothing may be sent")

    steps = Given(Silent(), ["dhcp"])
    for call in (lambda: steps.arp("10.0.1.100", "10.0.1.1"), lambda: steps.dns("a", "b", "c", "d"),
                 lambda: steps.tcp("a", "b", "c")):
        with pytest.raises(NotGiven, match=r"has not given the \w+ step \(given: dhcp\): write it yourself"):
            call()
    with pytest.raises(NotGiven, match=r"\(given: none\)"):
        Given(Silent(), []).dhcp(1)
