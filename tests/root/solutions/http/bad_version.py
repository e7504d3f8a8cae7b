"""A malformed request line: HTTP1.1 instead of HTTP/1.1. nginx answers 400."""


def fetch(sock, host: str, requests):
    """Send each request on `sock`, read each response whole; return them as dicts."""
    pending = b""  # bytes received but not used yet

    def receive() -> None:
        nonlocal pending
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("web closed the connection")
        pending += data

    responses = []
    for method, target, body in requests:
        head = f"{method} {target} HTTP1.1\r\nHost: {host}\r\n"
        if body:
            head += f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
        sock.sendall(head.encode("ascii") + b"\r\n" + body)

        while b"\r\n\r\n" not in pending:
            receive()
        raw, pending = pending.split(b"\r\n\r\n", 1)
        status_line, *lines = raw.decode("latin-1").split("\r\n")
        _version, status, reason = status_line.split(" ", 2)
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()

        length = 0 if method == "HEAD" else int(headers.get("content-length", "0"))
        while len(pending) < length:
            receive()
        content, pending = pending[:length], pending[length:]
        responses.append({"status": int(status), "reason": reason, "headers": headers, "body": content})
    return responses
