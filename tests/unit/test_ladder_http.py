"""HTTP messages on the ladder: one ═ row per message in the terminal, a labelled bracket on the page."""

from __future__ import annotations


from protolab.expect import Check, Expectation, F, Request, Response, SentBy, check
from protolab.report.html import render_html
from protolab.report.labels import http_folds
from protolab.report.ladder import render_ladder

from .test_expect_http import BODY, CLIENT, GET, SERVER, exchange, ok, trace_of

STEPS = (Request("the GET", number=1, match=(SentBy("client"),)),
         Response("the page", to="the GET", checks=(Check(F("http.status") == 200, "web has it"),)))


def lines(trace, verdict=None, **kw) -> list[str]:
    ladder = render_ladder(trace, verdict, ("client", "web"), full_width=True, **kw)
    return [line.plain for line in ladder.lines(None)]


def vector():
    cap, f = exchange((GET, ok()), close=False)
    for acked in (1448, 2896, len(ok())):  # the client's pure ACKs of the response
        cap.seg(CLIENT, SERVER, f.next[CLIENT], 5001 + acked, "A")
    f.fin(CLIENT)
    return trace_of(cap)


def test_each_message_is_one_row_with_its_segments_and_acks_folded():
    trace = vector()  # 3 handshake, 1 GET, 4 response segments, 3 ACKs, a FIN: 12 frames
    assert len(trace) == 12
    folds = http_folds(trace)
    request, response = folds[4], folds[5]
    assert request.frames == (4,) and response.frames == (5, 6, 7, 8, 9, 10, 11)
    verdict = check(Expectation("x", steps=STEPS), trace, facts={})
    out = lines(trace, verdict)
    rows = out[1:-1]  # no title: the header, then the rows, then the footer
    assert len(rows) == 3 + 2 + 1
    get_row = next(r for r in rows if r.lstrip().startswith("#4 "))
    page_row = next(r for r in rows if r.lstrip().startswith("#5–#11"))
    assert "●══" in get_row and "═▶" in get_row
    assert "HTTP GET /index.html HTTP/1.1 · 39 B · 1 segment" in get_row and "✔ the GET" in get_row
    assert f"HTTP 200 OK ← GET /index.html · {len(BODY)} B body · 4 segments" in page_row
    assert "◀══" in page_row and page_row.count("✔ the page") == 1  # the four frames' marks, once
    assert "FIN-ACK" in rows[-1]
    assert out[-1].endswith("2 HTTP messages, one row each (═): the segments and ACKs of each fold into it")


def test_unfolded_every_frame_keeps_its_row():
    trace = vector()
    out = lines(trace, fold_http=False)
    assert len(out) == 1 + 12 + 1 and not any("═" in line for line in out)


def test_a_connection_that_is_not_http_is_not_folded():
    cap, _ = exchange((b"hello, web", None))
    assert http_folds(trace_of(cap)) == {}


def test_the_page_labels_the_first_row_and_brackets_the_rest():
    trace = vector()
    verdict = check(Expectation("x", steps=STEPS), trace, facts={})
    page = render_html(title="t", trace=trace, verdict=verdict, columns=("client", "web"))
    assert page.count('class="span"') == 2
    assert 'class="frame p-http"' in page and "HTTP 200 OK ← GET /index.html" in page
    assert "┆ HTTP 200 OK — ACK" in page  # a continuation segment
