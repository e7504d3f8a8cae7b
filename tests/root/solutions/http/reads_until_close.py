"""Reads a body until the connection closes instead of by Content-Length: HTTP/1.1 keeps it open."""


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
        head = f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n"
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

        while True:  # until the server closes
            data = sock.recv(65536)
            if not data:
                break
            pending += data
        content, pending = pending, b""
        responses.append({"status": int(status), "reason": reason, "headers": headers, "body": content})
    return responses
