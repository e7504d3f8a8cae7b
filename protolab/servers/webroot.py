"""The web server's content: a few static files with fixed, reproducible metadata.

Every file gets the same fixed modification time, so nginx's ETag
("<mtime hex>-<size hex>") and Last-Modified are the same in every run.
`replace_file` changes a file while the server runs and moves its time on by
a fixed step, so its ETag changes even when its size does not.

    INDEX        a page of a few KB
    BIG          a larger page (~8 KB): one response spans several segments
    CACHED       a stylesheet the server sends with Cache-Control: max-age=N
    FORBIDDEN    a file in a folder the server refuses (403)
"""

from __future__ import annotations

import email.utils
import os
from pathlib import Path, PurePosixPath

from .process import ServiceError

MTIME = 1_700_000_000  # Tue, 14 Nov 2023 22:13:20 GMT: every file's time at start
CHANGE_STEP = 60  # seconds each replace_file() moves a file's time on

INDEX = "/index.html"
BIG = "/big.html"
CACHED = "/cached/style.css"
FORBIDDEN = "/private/secret.txt"

_WORDS = ("packet", "segment", "window", "handshake", "header", "cache", "etag", "socket")


def _lines(count: int, width: int = 72) -> str:
    """`count` numbered lines of filler text, each exactly `width` characters and a newline."""
    out = []
    for n in range(count):
        words = " ".join(_WORDS[(n + k) % len(_WORDS)] for k in range(12))
        out.append(f"<p>{n:04d} {words}".ljust(width - 4)[: width - 4] + "</p>\n")
    return "".join(out)


def _page(title: str, lines: int) -> bytes:
    return (f"<!doctype html>\n<html><head><title>{title}</title>"
            f'<link rel="stylesheet" href="{CACHED}"></head>\n<body>\n<h1>{title}</h1>\n'
            f"{_lines(lines)}</body></html>\n").encode()


def files() -> dict[str, bytes]:
    """Every file of the docroot: URL path → content."""
    return {
        INDEX: _page("protolab web", 40),  # ~3 KB
        BIG: _page("a bigger page", 110),  # ~8 KB
        CACHED: b"body { font-family: sans-serif; max-width: 40em; margin: auto; }\n",
        FORBIDDEN: b"nobody may read this\n",
    }


def file_of(root: Path, path: str) -> Path:
    """The file in `root` that URL `path` names; a path outside the docroot is an error."""
    parts = PurePosixPath(path).parts
    if not path.startswith("/") or ".." in parts or len(parts) < 2:
        raise ServiceError(f"not a file path of the web server: {path!r} (an absolute path such as {INDEX})")
    return root.joinpath(*parts[1:])


def write_docroot(root: Path) -> None:
    """Write every file into `root` (created), readable by the server's unprivileged workers."""
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    for path, content in files().items():
        _write(root, file_of(root, path), content, MTIME)


def replace_file(root: Path, path: str, content: bytes) -> Path:
    """Give the file at URL `path` new content and a time CHANGE_STEP s later than it had.

    The new file is renamed into place, so a request never sees half of it."""
    target = file_of(root, path)
    try:
        mtime = int(target.stat().st_mtime) + CHANGE_STEP
    except FileNotFoundError:
        mtime = MTIME
    _write(root, target, content, mtime)
    return target


def etag_of(file: Path) -> str:
    """The ETag nginx sends for `file`: its mtime and size in hex, quoted."""
    st = file.stat()
    return f'"{int(st.st_mtime):x}-{st.st_size:x}"'


def last_modified_of(file: Path) -> str:
    """The Last-Modified nginx sends for `file` (an HTTP date)."""
    return email.utils.formatdate(int(file.stat().st_mtime), usegmt=True)


def _write(root: Path, target: Path, content: bytes, mtime: int) -> None:
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    for part in [folder, *folder.parents]:
        if part == root.parent:
            break
        part.chmod(0o755)
    fresh = folder / f".{target.name}.new"
    fresh.write_bytes(content)
    fresh.chmod(0o644)
    os.utime(fresh, (mtime, mtime))
    fresh.replace(target)
