"""Expectations over HTTP messages (protolab.expect.http) on hand-built TCP frames."""

from __future__ import annotations

from dataclasses import replace

import pytest

from protolab.errors import AuthorError
from protolab.expect import (START, Check, Expectation, F, Flags, Header, Request, Response, SameConnection, SentBy,
                             Status, Step, V, check, make_trace)
from protolab.expect.http import MessageView
from protolab.wire.fields import MESSAGE_FIELDS

from .test_streams import CLIENT, SERVER, Capture, Flow

NODES = {CLIENT[0]: "client", SERVER[0]: "web"}
GET = b"GET /index.html HTTP/1.1\r\nHost: web\r\n\r\n"
HEAD = b"HEAD /index.html HTTP/1.1\r\nHost: web\r\n\r\n"
BODY = bytes(range(256)) * 20  # 5120 bytes: 4 segments of 1448 or fewer


def ok(body: bytes = BODY, *extra: str, length: int | None = None, status: str = "200 OK") -> bytes:
    size = len(body) if length is None else length
    head = f"HTTP/1.1 {status}\r\nContent-Length: {size}\r\nETag: \"65-1400\"\r\n" + "".join(e + "\r\n" for e in extra)
    return head.encode() + b"\r\n" + body


def trace_of(cap: Capture):
    frames = [replace(f, sender=NODES[f.layers["ip"]["src"]], receiver=NODES[f.layers["ip"]["dst"]]) for f in cap.frames]
    return make_trace(frames, links=("lan1",), addresses=NODES, keep_order=True)


def exchange(*pairs: tuple[bytes, bytes | None], close: bool = True) -> tuple[Capture, Flow]:
    cap = Capture()
    f = Flow(cap)
    f.handshake()
    for request, response in pairs:
        f.send(CLIENT, request)
        if response is not None:
            f.send(SERVER, response)
    if close:
        f.fin(CLIENT)
        f.fin(SERVER)
    return cap, f


FIRST = Request("GET the page", number=1, match=(SentBy("client"),), checks=(
    Check(F("http.method") == "GET", "the page is fetched with GET"),
    Check(Header("host") == "web", "an HTTP/1.1 request names the server in Host"),
))
PAGE = Response("the page", to="GET the page", match=(SentBy("web"),), checks=(
    Check(F("http.status") == 200, "web has the page"),
    Check(F("http.body_len") == F("http.content_length"), "the whole body came"),
), bind={"etag": Header("etag"), "size": "http.content_length"})
SECOND = Request("HEAD the page", number=2, on="GET the page", checks=(
    Check(F("http.method") == "HEAD", "the second request asks for the headers only"),
))
HEADERS = Response("the headers", to="HEAD the page", checks=(
    Check(F("http.body_len") == 0, "a response to HEAD has no body"),
    Check(F("http.content_length") == V("size"), "HEAD says the size GET would send"),
    Check(Header("ETag") == V("etag"), "the same ETag"),
))


def run(cap: Capture, *steps, never=()):
    return check(Expectation("http", steps=steps, never=never), trace_of(cap), facts={})


def item(verdict, name):
    return next(i for i in verdict.items if i.name == name)


def test_a_get_and_a_head_on_one_connection_pass_and_bind():
    cap, _ = exchange((GET, ok()), (HEAD, ok(b"", length=len(BODY))))
    trace = trace_of(cap)
    verdict = check(Expectation("http", steps=(FIRST, PAGE, SECOND, HEADERS)), trace, facts={})
    assert verdict.status is Status.PASS, verdict.explanations()
    assert verdict.bindings["etag"] == '"65-1400"' and verdict.bindings["size"] == 5120
    assert verdict.bindings["GET the page.connection"] == 1 and verdict.bindings["HEAD the page.number"] == 2
    page = item(verdict, "the page")
    response = trace.http[0].responses[0]
    assert page.frames == response.frames and len(page.frames) == 4  # every segment of the response is marked


def test_the_views_carry_exactly_the_registered_fields():
    cap, _ = exchange((GET, ok()))
    views = trace_of(cap).messages
    assert [v.message.kind for v in views] == ["request", "response"]
    for view in views:
        assert isinstance(view, MessageView)
        assert {f"http.{name}" for name in view.layers["http"]} == set(MESSAGE_FIELDS)
        for path, info in MESSAGE_FIELDS.items():
            assert isinstance(view.get(path), info.types), path
    request, response = views
    assert request.get("http.start_line") == "GET /index.html HTTP/1.1"
    assert (request.sender, request.receiver) == ("client", "web")
    assert response.get("http.segments") == 4 and response.index == response.get("http.last_frame")
    assert response.label.startswith("response 1 of connection 1 (200 OK, 5120 B body, frames #")


def test_the_wrong_method_on_the_second_request_names_it():
    cap, _ = exchange((GET, ok()), (GET, ok()))
    verdict = run(cap, FIRST, PAGE, SECOND, HEADERS)
    second = item(verdict, "HEAD the page")
    assert second.status is Status.FAIL
    assert second.messages == (
        f"request 2 of connection 1 (GET /index.html HTTP/1.1, frame #{second.frames[0]}): the second request asks "
        "for the headers only — but http.method is 'GET', expected 'HEAD'",)
    assert item(verdict, "the headers").status is Status.FAIL  # it has a body


def test_a_missing_second_request_says_what_the_connection_carries():
    cap, f = exchange((GET, ok()))
    verdict = run(cap, FIRST, PAGE, SECOND)
    second = item(verdict, "HEAD the page")
    fin = f.cap.frames[-2].index
    assert second.messages == (
        "connection 1 (10.0.1.10:40312 → 10.0.2.80:80) carries 1 request (GET /index.html HTTP/1.1), no 2nd one: "
        f"client sent nothing after request 1 and closed the connection (FIN, frame #{fin})",)


def test_no_response_when_the_head_never_ends():
    cap = Capture()
    f = Flow(cap)
    f.handshake()
    f.send(CLIENT, b"GET /index.html HTTP/1.1\r\nHost: web\r\n")  # no blank line
    fin = f.fin(SERVER)  # the server gives up
    verdict = run(cap, FIRST, PAGE)
    first = item(verdict, "GET the page")
    assert first.status is Status.FAIL
    assert "it must read as regular HTTP/1.1 — but the request head never ends" in first.messages[0]
    page = item(verdict, "the page")
    assert page.status is Status.FAIL
    assert page.messages[0].startswith(
        f"no response to request 1 (GET /index.html HTTP/1.1): web sent nothing after the handshake and closed the "
        f"connection (FIN, frame #{fin}), 1 ms after the request's last byte; the request itself: the request head never ends")


def test_bare_lf_line_ends_are_named():
    cap, _ = exchange((b"GET /index.html HTTP/1.1\nHost: web\n\n", ok()))
    verdict = run(cap, FIRST, PAGE)
    first = item(verdict, "GET the page")
    assert first.status is Status.FAIL
    assert first.messages[0].endswith(
        "it must read as regular HTTP/1.1 — but the request line ends with a bare LF; header line 1 ('Host') ends "
        "with a bare LF; the blank line that ends the head is a bare LF")
    assert item(verdict, "the page").status is Status.PASS  # nginx answers it anyway


def test_no_host_header_is_named_though_h11_refuses_the_head():
    cap, _ = exchange((b"GET /index.html HTTP/1.1\r\nUser-Agent: me\r\n\r\n",
                       ok(b"bad", status="400 Bad Request", length=3)))
    verdict = run(cap, FIRST, PAGE)
    first = item(verdict, "GET the page")
    assert "but the HTTP/1.1 request has no Host header" in first.messages[0]
    assert first.messages[0].startswith("request 1 of connection 1 (GET /index.html HTTP/1.1, frame #4): ")
    assert first.messages[1].endswith("an HTTP/1.1 request names the server in Host — but the request's headers "
                                      "could not be read (the HTTP/1.1 request has no Host header)")
    assert "http.method is" not in " ".join(first.messages)  # the start line still says GET
    assert "http.status is 400, expected 200" in item(verdict, "the page").messages[0]


def test_a_header_that_is_absent_reads_as_such():
    cap, _ = exchange((b"GET /index.html HTTP/1.1\r\nHost: web\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"))
    verdict = run(cap, FIRST, Response("tagged", to="GET the page", checks=(
        Check(Header("etag").present(), "a static file comes with an ETag"),
        Check(Header("etag") == '"x"', "its ETag"),)))
    tagged = item(verdict, "tagged")
    assert tagged.messages[0].endswith("a static file comes with an ETag — but the response has no ETag header")
    assert tagged.messages[1].endswith("its ETag — but the response has no ETag header")


def test_a_short_body_is_a_problem_and_the_body_fields_say_so():
    cap, _ = exchange((GET, ok(BODY[:3000], length=5120)))
    verdict = run(cap, FIRST, PAGE)
    page = item(verdict, "the page")
    assert "Content-Length says 5120 but the connection closed after 3000 body bytes" in page.messages[0]
    assert "http.body_len is 3000, expected http.content_length = 5120" in page.messages[1]


def test_another_connection_is_not_the_same_connection():
    cap = Capture()
    one, two = Flow(cap), Flow(cap, client=(CLIENT[0], 40313), cisn=9000, sisn=7000)
    one.handshake()
    one.send(CLIENT, GET)
    one.send(SERVER, ok())
    two.handshake()
    two.send((CLIENT[0], 40313), HEAD)
    two.send(SERVER, ok(b"", length=len(BODY)))
    verdict = run(cap, FIRST, PAGE, Request("HEAD the page", on="GET the page", checks=(
        Check(F("http.method") == "HEAD", "headers only"),)))
    head = item(verdict, "HEAD the page")
    assert head.status is Status.FAIL
    assert ("the closest is request 1 of connection 2 (HEAD /index.html HTTP/1.1, frame #"
            in head.messages[0])
    assert head.messages[0].endswith(
        "it is on connection 2 (10.0.1.10:40313 → 10.0.2.80:80), not on connection 1, the one of 'GET the page'")


def test_a_response_to_another_request_is_not_the_answer():
    cap, _ = exchange((GET, ok()), (HEAD, ok(b"", length=len(BODY))))
    late = Response("answer", to="GET the page", after="HEAD the page")  # only the HEAD's response comes after it
    verdict = run(cap, FIRST, SECOND, late)
    answer = item(verdict, "answer")
    assert answer.status is Status.FAIL
    assert answer.messages[0].endswith("it answers request 2, not request 1 ('GET the page')")


def test_frame_steps_and_message_steps_mix_in_order():
    cap, _ = exchange((GET, ok()))
    fin = Step("client FIN", match=(SentBy("client"), Flags("FA")))
    verdict = run(cap, Step("SYN", match=(Flags("S"),)), FIRST, PAGE, fin)
    assert verdict.status is Status.PASS, verdict.explanations()
    early = run(cap, PAGE, Request("after the page", after=START, match=(F("http.method") == "POST",)))
    assert item(early, "after the page").messages[0].startswith(
        "no HTTP request in the whole capture matches; the closest is request 1 of connection 1 (GET /index.html "
        "HTTP/1.1, frame #4): http.method is 'GET', expected 'POST'")


def test_a_capture_without_http_has_no_messages_and_says_so():
    cap = Capture()
    Flow(cap).handshake()
    verdict = run(cap, FIRST)
    assert item(verdict, "GET the page").messages == ("no HTTP request in the whole capture",)


def test_authors_mistakes_are_caught_when_the_step_is_built():
    with pytest.raises(AuthorError, match="counts from 1"):
        Request("r", number=0)
    with pytest.raises(AuthorError, match="names an earlier Request or Response step"):
        Response("r", to=3)  # type: ignore[arg-type]
    with pytest.raises(AuthorError, match="a header name is a token"):
        Header("no such")
    with pytest.raises(AuthorError, match="unknown field 'http.methd' \\(did you mean http.method\\?\\)"):
        F("http.methd")
    with pytest.raises(AuthorError, match="'second' comes after 'nothing'"):
        Expectation("x", steps=(Request("second", after="nothing"),))
    assert SameConnection("a").text() == "on the connection of 'a'"
