"""model=nonblocking: one thread, non-blocking sockets tried in turn (the course's polling loop)."""

import mimetypes
import os
import time
from urllib.parse import unquote


def serve(listener, docroot):
    listener.setblocking(False)
    clients = {}  # socket -> bytes received so far
    while True:
        busy = False
        try:
            while True:
                conn, _ = listener.accept()
                conn.setblocking(False)
                clients[conn] = b""
                busy = True
        except BlockingIOError:
            pass
        for conn in list(clients):
            try:
                chunk = conn.recv(4096)
            except BlockingIOError:
                continue
            busy = True
            if not chunk:
                del clients[conn]
                conn.close()
                continue
            clients[conn] += chunk
            if b"\r\n\r\n" in clients[conn]:
                conn.setblocking(True)
                conn.sendall(respond(clients.pop(conn), docroot))
                conn.close()
        if not busy:
            time.sleep(0.001)

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

