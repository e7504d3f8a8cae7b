"""model=blocking: one connection at a time (the course's first server, made correct)."""

import mimetypes
import os
from urllib.parse import unquote


def serve(listener, docroot):
    while True:
        conn, _ = listener.accept()
        with conn:
            head = read_head(conn)
            if head is not None:
                conn.sendall(respond(head, docroot))

def read_head(conn):
    """The request head, up to the blank line (None if the client closed first)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return data or None
        data += chunk
    return data


def respond(head, docroot):
    parts = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
    if len(parts) != 3 or not parts[1].startswith("/") or not parts[2].startswith("HTTP/"):
        return message(400, "Bad Request", b"bad request\n", "text/plain")
    path = unquote(parts[1].split("?", 1)[0])
    if path == "/":
        path = "/index.html"
    root = os.path.realpath(docroot)
    file = os.path.realpath(os.path.join(root, path.lstrip("/")))
    if not file.startswith(root + os.sep) or not os.path.isfile(file):
        return message(404, "Not Found", b"not found\n", "text/plain")
    with open(file, "rb") as f:
        body = f.read()
    return message(200, "OK", body, mimetypes.guess_type(file)[0] or "application/octet-stream")


def message(status, reason, body, ctype):
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body

