"""Backends turn a topology into running nodes. Registered explicitly, by name."""

from __future__ import annotations

from ..errors import BackendError


def get_backend(name: str):
    """The backend registered under `name`."""
    if name == "netns":
        from .netns import NetnsBackend

        return NetnsBackend()
    raise BackendError(f"unknown backend '{name}' (available: {', '.join(BACKENDS)})")


BACKENDS = ("netns",)
