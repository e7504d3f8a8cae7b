"""model=epoll: one thread, edge-triggered epoll (EPOLLIN | EPOLLET): read each socket until it would block."""

import mimetypes
import os
import select
from urllib.parse import unquote


def serve(listener, docroot):
    listener.setblocking(False)
    ep = select.epoll()
    ep.register(listener.fileno(), select.EPOLLIN | select.EPOLLET)
    conns, heads = {}, {}
    while True:
        for fd, _ in ep.poll():
            if fd == listener.fileno():
                while True:
                    try:
                        conn, _ = listener.accept()
                    except BlockingIOError:
                        break
                    conn.setblocking(False)
                    conns[conn.fileno()], heads[conn.fileno()] = conn, b""
                    ep.register(conn.fileno(), select.EPOLLIN | select.EPOLLET)
                continue
            conn, closed = conns[fd], False
            while True:
                try:
                    chunk = conn.recv(4096)
                except BlockingIOError:
                    break
                if not chunk:
                    closed = True
                    break
                heads[fd] += chunk
            if b"\r\n\r\n" in heads[fd] or closed:
                if b"\r\n\r\n" in heads[fd]:
                    conn.setblocking(True)
                    conn.sendall(respond(heads[fd], docroot))
                ep.unregister(fd)
                del conns[fd], heads[fd]
                conn.close()

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

