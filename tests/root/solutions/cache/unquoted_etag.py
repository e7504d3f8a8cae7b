"""Keeps the ETag without its quotes, so If-None-Match names a tag web never sent."""

import socket


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
                copy = {"body": body, "etag": headers.get("etag", "").strip('"') or None, "last_modified": headers.get("last-modified"),
                        "fresh_until": now + max_age(headers)}
            cache[path] = copy
            pages[path] = copy["body"]
    finally:
        if sock is not None:
            sock.close()
    return {"cache": cache, "pages": pages}
