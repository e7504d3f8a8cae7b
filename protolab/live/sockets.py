"""Kept for files written before `Host` had udp_socket()/tcp_socket(): SocketHost is Host."""

from __future__ import annotations

from .host import Host

SocketHost = Host

__all__ = ["SocketHost"]
