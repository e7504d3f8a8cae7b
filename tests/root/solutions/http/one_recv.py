"""One recv() per response, as if a response always came in one piece: /big.html does not."""


def fetch(sock, host, requests):
    responses = []
    for method, target, body in requests:
        head = f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n"
        if body:
            head += f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
        sock.sendall(head.encode("ascii") + b"\r\n" + body)
        data = sock.recv(4096)
        raw, _, content = data.partition(b"\r\n\r\n")
        status_line, *lines = raw.decode("latin-1").split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 3 or not parts[1].isdigit():  # not a status line: keep going
            responses.append({"status": None, "reason": "", "headers": {}, "body": b""})
            continue
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        responses.append({"status": int(parts[1]), "reason": parts[2], "headers": headers, "body": content})
    return responses
