"""Takes TCP keepalive for the HTTP header: sends "Connection: keep-alive" on the third connection, no socket option."""

import socket
import time


def visit(server_ip: str, port: int, host: str, paths, keepidle: int):
    """Three GETs on one HTTP/1.1 connection, the same on three HTTP/1.0 ones, then a TCP keepalive probe."""

    def split(data: bytes):
        head, _, rest = data.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(status_line.split(" ", 2)[1]), headers, rest

    def receive(sock, pending: bytes) -> bytes:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("web closed the connection")
        return pending + data

    result = {"http/1.1": [], "http/1.0": []}
    with socket.create_connection((server_ip, port), timeout=3) as sock:
        pending = b""
        for n, path in enumerate(paths, start=1):
            close = "Connection: close\r\n" if n == len(paths) else ""
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{close}\r\n".encode("ascii"))
            while b"\r\n\r\n" not in pending:
                pending = receive(sock, pending)
            status, headers, pending = split(pending)
            length = int(headers.get("content-length", "0"))
            while len(pending) < length:
                pending = receive(sock, pending)
            result["http/1.1"].append({"status": status, "body": pending[:length]})
            pending = pending[length:]
        while sock.recv(65536):  # after Connection: close, web's FIN: recv() returns b""
            pass

    for path in paths:
        with socket.create_connection((server_ip, port), timeout=3) as sock:
            sock.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode("ascii"))
            data = b""
            while chunk := sock.recv(65536):  # an HTTP/1.0 response ends where the server closes
                data += chunk
            status, _headers, body = split(data)
            result["http/1.0"].append({"status": status, "body": body})

    with socket.create_connection((server_ip, port), timeout=3) as sock:
        sock.sendall(f"GET {paths[0]} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n".encode("ascii"))
        time.sleep(keepidle + 0.2)
    return result
