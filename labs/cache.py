"""The browser cache against a real nginx: negotiated caching (ETag / If-None-Match, Last-Modified /
If-Modified-Since → 304 without a body, 200 with a new ETag once the file changed) and strong caching
(Cache-Control: max-age: no request at all while the copy is fresh, a revalidation once it is stale).

The student's `open_page` is the browser's cache: the lab opens the page five times (each a call of its
own, handing back the cache the previous call returned, and the time of the opening), changes the page
on web before the fourth and lets the stylesheet's max-age run out before the fifth. The capture proves
what went on the wire, and what did not: no request for the stylesheet while it was fresh.
"""

from __future__ import annotations

import email.utils
import socket
import time

from protolab.expect import Check, Expectation, F, Fact, Flags, Header, Never, Request, Response, SentBy
from protolab.lab import Lab, LabContext
from protolab.lab.api import Range
from protolab.servers import webroot
from protolab.servers.nginx import NginxConfig, NginxServer

PAGE, STYLE = webroot.INDEX, webroot.CACHED
PATHS = (PAGE, STYLE)
FILES = webroot.files()
CHANGED = FILES[PAGE].replace(b"<h1>protolab web</h1>", b"<h1>protolab web, changed</h1>")
STALE_MARGIN = 0.1  # seconds past the stylesheet's max-age before the fifth opening
# what each opening sends when it revalidates, and what web must answer to the page's request
OPENS = (
    (("If-None-Match", "If-Modified-Since"), 200),  # 1: an empty cache, nothing to revalidate
    (("If-None-Match",), 304),                     # 2: the ETag alone
    (("If-Modified-Since",), 304),                 # 3: the date alone
    (("If-None-Match",), 200),                     # 4: after the lab changed the page
    (("If-None-Match",), 304),                     # 5: the stylesheet is stale too
)

INSTRUCTIONS = """\
A browser keeps a copy of what it fetched, and a copy can be reused in two ways.

Strong caching: the response says how long its copy stays fresh,
"Cache-Control: max-age=N" (N seconds from now; HTTP/1.0's "Expires:" gives an
absolute date instead, and max-age wins when both are there). While a copy is
fresh the browser uses it and sends nothing at all: no connection, no request.

Negotiated caching (revalidation): once a copy is not fresh (or never was:
here, a response without max-age is fresh for no time), the browser asks the
server whether its copy is still good, with the validators the first response
carried:
  - "ETag" (an opaque tag of this version of the file, quotes included, e.g.
    "6553f100-c03") is sent back as "If-None-Match: <the ETag, exactly>";
  - "Last-Modified" (a date) is sent back as "If-Modified-Since: <that date,
    exactly>" (nginx compares the date for equality).
If the file has not changed, the server answers "304 Not Modified": a head
without a body (no Content-Length either); the browser shows its copy, and a
max-age in the 304 makes the copy fresh again. If it changed, the server
answers 200 with the new file and a new ETag, which replace the copy.

Your task: write `open_page(server_ip, port, host, paths, now, cache, conditions)`,
the browser opening a page whose files are `paths` (/index.html and the
stylesheet it links, /cached/style.css). For each path, in order:
  - a copy in `cache` with now < its "fresh_until": use it, send nothing;
  - a copy that is not fresh: revalidate it with a GET carrying the headers
    named in `conditions` ("If-None-Match", "If-Modified-Since" or both);
  - no copy: a plain GET.
Send the requests as "GET <path> HTTP/1.1" with "Host: <host>", on a
connection you open with socket.create_connection((server_ip, port),
timeout=3) only when a request is needed (one connection for both requests is
fine); read each response whole (its head, then Content-Length bytes; a 304
has no body) and close the connection at the end.
Return {"cache": cache, "pages": pages}: `pages` maps each path to the bytes
the page shows; `cache` maps each path to its copy,
    {"body": b"...", "etag": '"6553f100-c03"', "last_modified": "Tue, ...",
     "fresh_until": now + max-age (now when the response had no max-age)}
with "etag" and "last_modified" None when the response had none.

`now` is the time of the opening in seconds on the lab's clock (0.0 at the
first); compare it, never your own clock. Each call starts with nothing in
memory: the lab hands your next call the `cache` this one returned. The lab
opens the page five times: with an empty cache; revalidating the page with
If-None-Match, then with If-Modified-Since; after changing /index.html on web;
and once the stylesheet's max-age (`max_age` seconds) has run out.

    protolab run cache --solution my_cache.py

Checked on the wire: each request and its validators, each 304 without a
body, the 200 with the new ETag, and no request for the stylesheet while it
was fresh. Checked in nginx's access log: every request it served. And what
you returned: the copies' ETags and dates, their freshness, and the pages.
"""


def open_page(server_ip: str, port: int, host: str, paths, now: float, cache, conditions):
    """Open the page at time `now`: reuse fresh copies, revalidate stale ones, fetch missing ones."""

    def max_age(headers) -> int:
        for directive in headers.get("cache-control", "").split(","):
            name, _, value = directive.strip().partition("=")
            if name.lower() == "max-age" and value.isdigit():
                return int(value)
        return 0

    cache, pages = dict(cache), {}
    sock, pending = None, b""
    try:
        for path in paths:
            copy = cache.get(path)
            if copy is not None and now < copy["fresh_until"]:
                pages[path] = copy["body"]  # fresh: no request at all
                continue
            head = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n"
            if copy is not None and "If-None-Match" in conditions and copy["etag"]:
                head += f"If-None-Match: {copy['etag']}\r\n"
            if copy is not None and "If-Modified-Since" in conditions and copy["last_modified"]:
                head += f"If-Modified-Since: {copy['last_modified']}\r\n"
            if sock is None:
                sock = socket.create_connection((server_ip, port), timeout=3)
            sock.sendall(head.encode("ascii") + b"\r\n")

            while b"\r\n\r\n" not in pending:
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError("web closed the connection")
                pending += data
            raw, pending = pending.split(b"\r\n\r\n", 1)
            status_line, *lines = raw.decode("latin-1").split("\r\n")
            status = int(status_line.split(" ", 2)[1])
            headers = {}
            for line in lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = 0 if status == 304 else int(headers.get("content-length", "0"))
            while len(pending) < length:
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError("web closed the connection")
                pending += data
            body, pending = pending[:length], pending[length:]

            if status == 304:  # the copy is still good: keep its body, take the new freshness
                copy = dict(copy, fresh_until=now + max_age(headers))
            else:
                copy = {"body": body, "etag": headers.get("etag"), "last_modified": headers.get("last-modified"),
                        "fresh_until": now + max_age(headers)}
            cache[path] = copy
            pages[path] = copy["body"]
    finally:
        if sock is not None:
            sock.close()
    return {"cache": cache, "pages": pages}


def procedure(ctx: LabContext) -> None:
    p, web_ip = ctx.params, ctx.ip("web")
    config = NginxConfig(port=p["port"], keepalive_timeout=p["idle_timeout"], max_age=p["max_age"])
    nginx = ctx.use(NginxServer(ctx.node("web"), config))
    ctx.say(f"web: nginx on {web_ip}:{p['port']}; {STYLE} comes with Cache-Control: max-age={p['max_age']}")
    cache: dict = {}
    start = time.monotonic()
    first_done = start
    for n, (conditions, _status) in enumerate(OPENS, start=1):
        if n == 4:
            etag = nginx.change_file(PAGE, CHANGED)
            ctx.say(f"web: {PAGE} changed (its ETag is now {etag})")
        if n == 5:
            wait = first_done + p["max_age"] + STALE_MARGIN - time.monotonic()
            ctx.say(f"lab: waiting {max(wait, 0):.2f} s for {STYLE}'s max-age to run out")
            time.sleep(max(wait, 0))
        now = round(time.monotonic() - start, 3) if n > 1 else 0.0
        answer = ctx.call_student(web_ip, p["port"], p["host"], list(PATHS), now, cache, list(conditions))
        if n == 1:
            first_done = time.monotonic()
        answer = answer if isinstance(answer, dict) else {}
        got = answer.get("cache")
        cache = got if isinstance(got, dict) else {}
        _report(ctx, n, now, cache, answer.get("pages"))
    ctx.fact("web.log", [f"{e.request.rsplit(' ', 1)[0]} → {e.status}" for e in nginx.wait_log(7, timeout=0.2)])


def _report(ctx: LabContext, n: int, now: float, cache: dict, pages) -> None:
    def copy(path: str, key: str):
        entry = cache.get(path)
        return entry.get(key) if isinstance(entry, dict) else None

    pages = pages if isinstance(pages, dict) else {}
    ctx.fact(f"your.etag({n})", copy(PAGE, "etag"))
    ctx.fact(f"your.last_modified({n})", copy(PAGE, "last_modified"))
    until = copy(STYLE, "fresh_until")
    ctx.fact(f"your.fresh_for({n})", round(until - now, 3) if isinstance(until, (int, float)) else None)
    ctx.fact(f"your.pages({n})", {path: len(body) if isinstance(body := pages.get(path), (bytes, str)) else None
                                  for path in PATHS})
    ctx.say(f"client: opening {n} at {now:.3f} s: the page shows " + ", ".join(
        f"{path} ({size} B)" if size is not None else f"{path} (nothing)"
        for path, size in ctx.facts[f"your.pages({n})"].items()))


def wire_facts(trace, params, facts) -> dict:
    """The requests for the stylesheet that came while its first copy was fresh (max_age s after its 200)."""
    views = trace.messages
    style = [v for v in views if v.get("http.kind") == "request" and v.get("http.target") == STYLE]
    first = next((v for v in views if style and v.get("http.kind") == "response" and v.get("http.status") == 200
                  and v.get("http.connection") == style[0].get("http.connection")
                  and v.get("http.answers") == style[0].get("http.number")), None)
    if first is None:  # no copy was ever fresh (the steps say why)
        return {"wire.while_fresh": []}
    return {"wire.while_fresh": [
        f"{v.get('http.start_line')} ({v.label.split(' (', 1)[0]}), {v.time - first.time:.2f} s after the 200"
        for v in style if first.time < v.time < first.time + params["max_age"]]}


def expectation(topology, params) -> Expectation:
    host, port, max_age = params["host"], params["port"], params["max_age"]
    etag1, etag2 = _etag(FILES[PAGE], 0), _etag(CHANGED, 1)
    date1, date2 = _date(0), _date(1)
    style_etag = _etag(FILES[STYLE], 0)

    def request(name: str, path: str, *checks: Check, hint: str = "") -> Request:
        return Request(name, match=(SentBy("client"), F("http.target") == path), checks=(
            Check(F("http.method") == "GET", "the browser asks with GET"),
            Check(Header("host") == host, f"an HTTP/1.1 request names the site: Host: {host}"), *checks), hint=hint)

    def response(name: str, to: str, *checks: Check) -> Response:
        return Response(name, to=to, match=(SentBy("web"),), checks=checks)

    def not_modified(name: str, to: str, etag: str) -> Response:
        return response(name, to, Check(F("http.status") == 304, "the copy is still good: 304 Not Modified"),
                        Check(F("http.body_len") == 0, "a 304 has no body: the browser shows its copy"),
                        Check(Header("etag") == etag, "the 304 names the version the copy is"))

    inm1 = Check(Header("if-none-match") == etag1, f"the copy's ETag goes back exactly as web sent it, quotes "
                 f"included: If-None-Match: {etag1}")
    revalidate = ("Revalidate /index.html at every opening (without max-age its copy is never fresh), with the "
                  "validators its copy holds, exactly as web sent them.")
    steps = (
        request("opening 1: GET /index.html", PAGE,
                Check(Header("if-none-match") == None, "an empty cache has nothing to revalidate: no If-None-Match"),  # noqa: E711
                hint="With an empty cache, fetch each path with a plain GET."),
        response("opening 1: /index.html 200 with its validators", "opening 1: GET /index.html",
                 Check(F("http.status") == 200, "web sends the page: 200"),
                 Check(Header("etag") == etag1, "it carries an ETag"),
                 Check(Header("last-modified") == date1, "and a Last-Modified date")),
        request("opening 1: GET /cached/style.css", STYLE),
        response("opening 1: /cached/style.css 200 with max-age", "opening 1: GET /cached/style.css",
                 Check(F("http.status") == 200, "web sends the stylesheet: 200"),
                 Check(Header("cache-control") == f"max-age={max_age}", f"fresh for {max_age} s: "
                       f"Cache-Control: max-age={max_age}")),
        request("opening 2: /index.html revalidated with If-None-Match", PAGE, inm1, hint=revalidate),
        not_modified("opening 2: 304, no body", "opening 2: /index.html revalidated with If-None-Match", etag1),
        request("opening 3: /index.html revalidated with If-Modified-Since", PAGE,
                Check(Header("if-modified-since") == date1, "the copy's Last-Modified goes back exactly as web sent "
                      f"it: If-Modified-Since: {date1}"),
                Check(Header("if-none-match") == None, "this opening revalidates with the date alone, "  # noqa: E711
                      "as `conditions` says: no If-None-Match"), hint=revalidate),
        not_modified("opening 3: 304, no body", "opening 3: /index.html revalidated with If-Modified-Since", etag1),
        request("opening 4: /index.html revalidated after it changed", PAGE, inm1, hint=revalidate),
        response("opening 4: 200 with the new ETag", "opening 4: /index.html revalidated after it changed",
                 Check(F("http.status") == 200, "the page changed on web: 200 with the new page"),
                 Check(Header("etag") == etag2, "a new version, a new ETag"),
                 Check(F("http.content_length") == len(CHANGED), f"the new page is {len(CHANGED)} bytes")),
        request("opening 5: /index.html revalidated with the new ETag", PAGE,
                Check(Header("if-none-match") == etag2, f"the copy is now the new page: If-None-Match: {etag2}"),
                hint=revalidate),
        not_modified("opening 5: 304 for /index.html", "opening 5: /index.html revalidated with the new ETag", etag2),
        request("opening 5: /cached/style.css revalidated once stale", STYLE,
                Check(Header("if-none-match") == style_etag, f"the stale copy's ETag goes back: If-None-Match: "
                      f"{style_etag}"),
                hint=f"Once now is past the copy's fresh_until ({max_age} s after it came), revalidate it with its ETag."),
        not_modified("opening 5: 304 for /cached/style.css", "opening 5: /cached/style.css revalidated once stale",
                     style_etag),
    )
    shown = [{PAGE: len(FILES[PAGE]), STYLE: len(FILES[STYLE])}] * 3 + [{PAGE: len(CHANGED), STYLE: len(FILES[STYLE])}] * 2
    log = [f"GET {PAGE} → 200", f"GET {STYLE} → 200", f"GET {PAGE} → 304", f"GET {PAGE} → 304", f"GET {PAGE} → 200",
           f"GET {PAGE} → 304", f"GET {STYLE} → 304"]
    facts = [
        Check(Fact("wire.while_fresh") == [], f"while the stylesheet's copy is fresh ({max_age} s after its 200) "
              "the browser sends no request for it: it shows the copy"),
        Check(Fact("web.log") == log, "nginx served exactly these requests, in order: no more, no fewer"),
        Check(Fact("your.etag(1)") == etag1, "opening 1 keeps the page's ETag, exactly as web sent it"),
        Check(Fact("your.last_modified(1)") == date1, "opening 1 keeps the page's Last-Modified date"),
        Check(Fact("your.fresh_for(1)") == max_age, f"the stylesheet's copy is fresh until now + {max_age} s"),
        Check(Fact("your.etag(3)") == etag1, "after a 304 the copy keeps its ETag"),
        Check(Fact("your.etag(4)") == etag2, "a 200 replaces the copy: its new ETag is kept"),
        Check(Fact("your.last_modified(4)") == date2, "and its new Last-Modified date"),
        Check(Fact("your.fresh_for(5)") == max_age, "the 304's max-age makes the stale copy fresh again: "
              f"fresh_until = now + {max_age}"),
    ]
    for n, sizes in enumerate(shown, start=1):
        facts.append(Check(Fact(f"your.pages({n})") == sizes, f"opening {n} shows each file whole: "
                           + ("what web sent" if n == 1 else "the new page" if n == 4 else
                              "from the copies (a 304 has no body)")))
    never = (Never("no reset of a connection", match=(Flags("R", exact=False),
                                                       (F("tcp.sport") == port) | (F("tcp.dport") == port)),
                   why="A RST ends a connection at once: a socket closed with bytes of a response still unread, "
                   "or a request sent after nginx had closed an idle connection."),)
    return Expectation("the browser cache", steps=steps, never=never, facts=tuple(facts))


def _etag(content: bytes, changes: int) -> str:
    return f'"{webroot.MTIME + changes * webroot.CHANGE_STEP:x}-{len(content):x}"'


def _date(changes: int) -> str:
    return email.utils.formatdate(webroot.MTIME + changes * webroot.CHANGE_STEP, usegmt=True)


LAB = Lab(
    name="cache",
    title="The browser cache: max-age, ETag and 304",
    summary="Open a page five times as a browser's cache would: 304 without a body for If-None-Match and "
            "If-Modified-Since, a new ETag after a change, no request while max-age holds",
    instructions=INSTRUCTIONS,
    student=open_page,
    procedure=procedure,
    expectation=expectation,
    wire_facts=wire_facts,
    columns=("client", "router", "web"),
    params={"port": 80, "host": "web", "max_age": 1, "idle_timeout": 1.0},
    limits={"port": Range(1, 65535), "max_age": Range(1, 5, note="seconds"),
            "idle_timeout": Range(0.2, 10.0, note="seconds")},
    param_help={"port": "the TCP port nginx listens on, on web (server_ip)",
                "host": "the site's name, for the Host header of every request",
                "max_age": "seconds the stylesheet stays fresh (its Cache-Control: max-age); the lab waits that "
                           "long before the fifth opening",
                "idle_timeout": "seconds nginx keeps an idle connection open before it closes it"},
    timeout=5.0,
    facts={
        "your.etag(*)": "the ETag your cache held for /index.html after opening n",
        "your.last_modified(*)": "the Last-Modified your cache held for /index.html after opening n",
        "your.fresh_for(*)": "how long after opening n your copy of the stylesheet stays fresh (fresh_until - now)",
        "your.pages(*)": ("the size of each file the page showed at opening n (None: none)", dict),
        "web.log": ("nginx's access log: each request it served and its status, in order", list),
        "wire.while_fresh": "the requests for the stylesheet on the wire while its first copy was fresh",
    },
)
