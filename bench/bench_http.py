"""Reassembly and HTTP reading of a 10 MB transfer: protolab.wire.streams + protolab.wire.http.

Builds the decoded frames of one connection (handshake, a GET, a 200 response of
SIZE bytes with Content-Length in 1448-byte segments, the client's ACKs, FINs),
with every OOO-th segment sent after the next one and every RETX-th sent twice,
then times `http.connections(frames)` (reassembly of both directions, then h11)
and prints MB/s and frames/s (min and median of --repeat runs). Frames are
built as a trace holds them (protolab.expect.trace.Frame): decoding is not
timed. Pure computation, no root, nothing sent anywhere:

    .venv/bin/python bench/bench_http.py [--size BYTES] [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from types import MappingProxyType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from protolab.expect.trace import Frame  # noqa: E402
from protolab.wire import http  # noqa: E402

MSS = 1448
CLIENT, SERVER = ("10.0.1.10", 40312), ("10.0.2.80", 80)


def build(size: int, ooo: int, retx: int) -> tuple[list[Frame], bytes]:
    frames: list[Frame] = []

    def seg(src, dst, seq, ack, flags, payload=b""):
        n = len(frames) + 1
        layers = {"ip": MappingProxyType({"src": src[0], "dst": dst[0], "ttl": 64, "proto": 6, "id": n,
                                          "len": 40 + len(payload), "flags": "DF"}),
                  "tcp": MappingProxyType({"sport": src[1], "dport": dst[1], "seq": seq % 2**32,
                                           "ack": ack % 2**32, "flags": flags, "window": 65535,
                                           "len": len(payload), "mss": None, "payload": payload})}
        frames.append(Frame(n, n * 1e-5, "lan1", None, None, MappingProxyType(layers)))

    c = 4_000_000_000
    s = 2**32 - size // 2  # the server's sequence numbers wrap halfway through the body
    seg(CLIENT, SERVER, c, 0, "S")
    seg(SERVER, CLIENT, s, c + 1, "SA")
    seg(CLIENT, SERVER, c + 1, s + 1, "A")
    get = b"GET /big HTTP/1.1\r\nHost: web\r\n\r\n"
    seg(CLIENT, SERVER, c + 1, s + 1, "PA", get)
    body = bytes(range(256)) * (size // 256 + 1)
    body = body[:size]
    response = f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode() + body
    parts = [(off, response[off:off + MSS]) for off in range(0, len(response), MSS)]
    for i in range(1, len(parts) - 1, ooo):  # swap neighbours: out of order
        parts[i], parts[i + 1] = parts[i + 1], parts[i]
    cack = c + 1 + len(get)
    for k, (off, data) in enumerate(parts):
        seg(SERVER, CLIENT, s + 1 + off, cack, "A", data)
        if k % retx == 0:
            seg(SERVER, CLIENT, s + 1 + off, cack, "A", data)
        if k % 2:
            seg(CLIENT, SERVER, cack, s + 1 + off + len(data), "A")
    seg(SERVER, CLIENT, s + 1 + len(response), cack, "FA")
    seg(CLIENT, SERVER, cack, s + 2 + len(response), "FA")
    return frames, body


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=10 * 1000 * 1000, help="response body bytes (default 10 MB)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--ooo", type=int, default=97, help="every N-th segment swapped with the next")
    ap.add_argument("--retx", type=int, default=89, help="every N-th segment sent twice")
    args = ap.parse_args()
    frames, body = build(args.size, args.ooo, args.retx)
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        conns = http.connections(frames)
        times.append(time.perf_counter() - start)
    resp = conns[0].exchange(1).response
    if not (resp.complete and resp.body == body and not resp.problems):  # the bench measures a correct read
        sys.exit(f"bench_http: the response was not read whole: {resp.problems}")
    retx = len(resp.retransmissions)
    best, median = min(times), statistics.median(times)
    mb = args.size / 1e6
    print(f"{len(frames)} frames, body {mb:.1f} MB in {resp.segments} segments"
          f" ({retx} retransmitted, every {args.ooo}th out of order); {args.repeat} runs")
    print(f"{'':8}{'seconds':>9}{'MB/s':>9}{'frames/s':>12}")
    for name, t in (("min", best), ("median", median)):
        print(f"{name:8}{t:9.3f}{mb / t:9.1f}{len(frames) / t:12,.0f}")


if __name__ == "__main__":
    main()
