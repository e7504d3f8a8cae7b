"""The course's server: the path goes straight into open(), so /../ leaves the docroot."""

import mimetypes
import re
import threading
from urllib.parse import unquote


def serve(listener, docroot):
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=answer, args=(conn, docroot), daemon=True).start()


def answer(conn, docroot):
    with conn:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        line = data.decode("latin-1").splitlines()[0]
        found = re.match(r"[^/]+(/[^ ]*) HTTP/", line)
        if not found:
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return
        path = unquote(found.group(1))
        if path == "/":
            path = "/index.html"
        try:
            with open(docroot + path, "rb") as f:
                body = f.read()
        except OSError:
            conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            return
        ctype = mimetypes.guess_type(path)[0] or "application/octet-stream"
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
