"""Backends turn a topology into running nodes. Registered explicitly, by name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import BackendError

if TYPE_CHECKING:
    from .base import Backend


def get_backend(name: str) -> Backend:
    """The backend registered under `name`."""
    if name == "netns":
        from .netns import NetnsBackend

        return NetnsBackend()
    if name == "compose":
        from .compose import ComposeBackend

        return ComposeBackend()
    raise BackendError(f"unknown backend '{name}' (available: {', '.join(BACKENDS)})")


BACKENDS = ("netns", "compose")


def default_backend() -> str:
    """compose inside a lab container (the other nodes are containers too), else netns."""
    import os

    from .compose_file import ENV_NODE

    return "compose" if os.environ.get(ENV_NODE) else "netns"
