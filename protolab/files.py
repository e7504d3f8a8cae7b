"""Opening input files a user names (topologies, captures) without trusting them.

A path given on the command line may name a directory, a FIFO (opening it
would block until a writer comes), a device (/dev/zero never ends) or a huge
file. `open_regular` refuses all of these before reading a byte, so a reader
never blocks and never holds more than the size limit in memory.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

MiB = 1 << 20


class FileRefused(ValueError):
    """The path names something that is not a regular file of acceptable size."""


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def size_text(size: int) -> str:
    for unit, name in ((1 << 30, "GiB"), (MiB, "MiB")):
        if size >= unit:
            return f"{size / unit:.1f}".removesuffix(".0") + f" {name}"
    return f"{size} bytes"


def open_regular(path: str | Path, *, limit: int, what: str) -> BinaryIO:
    """Open `path` for reading if it is a regular file of at most `limit` bytes.

    Raises FileRefused (a ValueError) with a short reason otherwise, and
    OSError if it cannot be opened. The type is checked with stat() before
    open() (opening a device or FIFO can block or have effects), then again on
    the open file, in case the path was swapped in between."""
    before = os.stat(path)
    if not stat.S_ISREG(before.st_mode):
        raise FileRefused(f"is {_kind(before.st_mode)}, not a file")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (before.st_dev, before.st_ino):
            raise FileRefused("changed while being opened")
        if now.st_size > limit:
            raise FileRefused(f"is {size_text(now.st_size)}: {what} above {size_text(limit)} are refused")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bounded(path: str | Path, *, limit: int, what: str) -> bytes:
    """The whole content of a regular file of at most `limit` bytes (see open_regular)."""
    with open_regular(path, limit=limit, what=what) as f:
        data = f.read(limit + 1)  # the file may have grown since it was checked
    if len(data) > limit:
        raise FileRefused(f"is above {size_text(limit)}: {what} that large are refused")
    return data
