"""The lan-switch container: the lab's LANs as bridges in its own namespace,
wired to the node containers with veths, as the netns backend wires namespaces.

Every container of the stack has `network_mode: none`: the engine gives it
only lo, and no engine network, host bridge or firewall rule carries a lab
frame. (Docker's isolation rules for internal networks drop routed traffic
between them, because br_netfilter passes bridged frames through the host's
iptables; frames on these bridges never meet the host's rules.) The
containers share no namespace with each other or the host, so the engine-
specific `pid:` options (spelt differently by Compose v1 and podman-compose)
are not needed either.

The switch listens on a unix socket in the work directory, which every
container (and the host) sees at the same path (SOCKET):

- a node's `protolab-node` registers: it sends its network and mount namespaces
  (SCM_RIGHTS); the switch adds the node's ports, peers moved into the node,
  and answers; the node then configures its side and keeps the connection
  open for as long as the container lives (its `sleep` inherits it), so the
  switch sees a container go and drops its ports;
- a lab run asks for the stack: the switch answers with every registered
  node's namespaces, its own network namespace (where the capture runs), the
  topology text and the nodes still missing.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from ..confine import channel
from ..topology.model import Topology
from .compose_file import SWITCH_SOCKET as SOCKET
from .wiring import add_bridges, add_ports, unwire_node

REQUEST_TIMEOUT = 2.0  # seconds a connection has to say what it wants


def _say(text: str) -> None:
    print(f"protolab: lan-switch: {text}", flush=True)


@dataclass
class Registration:
    node: str
    connection: socket.socket
    net_fd: int
    mnt_fd: int

    def close(self) -> None:
        for fd in (self.net_fd, self.mnt_fd):
            os.close(fd)
        self.connection.close()


class Switch:
    """The bridges and the registered nodes."""

    def __init__(self, topology: Topology, topology_text: str) -> None:
        from pyroute2 import IPRoute

        self.topology = topology
        self.topology_text = topology_text
        self.sw = IPRoute()
        self.bridges = add_bridges(self.sw, topology)
        self.registered: dict[str, Registration] = {}
        self.selector = selectors.DefaultSelector()

    def missing(self) -> list[str]:
        return [n.name for n in self.topology.nodes if n.name not in self.registered]

    # -- connections ----------------------------------------------------------
    def accept(self, listener: socket.socket) -> None:
        connection, _ = listener.accept()
        connection.settimeout(REQUEST_TIMEOUT)
        try:
            message, fds = channel.receive(connection)
        except (OSError, channel.ChannelError):
            connection.close()
            return
        op = (message or {}).get("op")
        if op == "register" and len(fds) == 2:
            self.register(str(message.get("node")), connection, fds)
            return
        for fd in fds:
            os.close(fd)
        if op == "stack":
            self.answer_stack(connection)
        connection.close()

    def register(self, name: str, connection: socket.socket, fds: list[int]) -> None:
        from pyroute2.netlink.exceptions import NetlinkError

        try:
            node = self.topology.node(name)
        except KeyError:
            self._refuse(connection, fds, f"topology '{self.topology.name}' has no node '{name}'")
            return
        if name in self.registered:  # the container was recreated
            self.drop(name)
        try:
            add_ports(self.sw, fds[0], node, self.topology, self.bridges)
        except (OSError, NetlinkError) as exc:
            unwire_node(self.sw, node, self.topology)
            self._refuse(connection, fds, f"cannot wire node {name}: {exc}")
            return
        registration = Registration(name, connection, fds[0], fds[1])
        self.registered[name] = registration
        channel.send(connection, {"ok": True})
        connection.settimeout(None)
        self.selector.register(connection, selectors.EVENT_READ, registration)
        _say(f"wired {name} ({', '.join(f'{i.name} on {i.lan}' for i in node.interfaces)})")
        if not self.missing():
            _say(f"all {len(self.topology.nodes)} nodes wired on {len(self.topology.lans)} LANs")

    def _refuse(self, connection: socket.socket, fds: list[int], reason: str) -> None:
        _say(reason)
        for fd in fds:
            os.close(fd)
        try:
            channel.send(connection, {"ok": False, "error": reason})
        except OSError:
            pass
        connection.close()

    def drop(self, name: str) -> None:
        """Forget a node whose container has gone (or was recreated): its ports go."""
        registration = self.registered.pop(name)
        self.selector.unregister(registration.connection)
        try:
            unwire_node(self.sw, self.topology.node(name), self.topology)
        finally:
            registration.close()
        _say(f"node {name} has gone; its ports are removed")

    def answer_stack(self, connection: socket.socket) -> None:
        """Every registered node's namespaces, then the switch's own and what is missing."""
        try:
            for name, registration in self.registered.items():
                channel.send(connection, {"node": name}, [registration.net_fd, registration.mnt_fd])
            own = os.open("/proc/self/ns/net", os.O_RDONLY)
            try:
                channel.send(connection, {"end": True, "topology": self.topology_text, "missing": self.missing()}, [own])
            finally:
                os.close(own)
        except (OSError, channel.ChannelError):
            pass  # the asker went away

    # -- the loop -------------------------------------------------------------
    def serve(self, listener: socket.socket) -> NoReturn:
        self.selector.register(listener, selectors.EVENT_READ, None)
        while True:
            for key, _events in self.selector.select():
                if key.data is None:
                    self.accept(listener)
                else:
                    self.drop(key.data.node)  # a registered connection only ever ends


def listen(path: Path = SOCKET) -> socket.socket:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # a switch that was killed leaves its socket file
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    old = os.umask(0o077)  # the socket hands out namespaces: root only
    try:
        listener.bind(str(path))
    finally:
        os.umask(old)
    listener.listen(64)
    return listener


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(0)


def run_switch(topology: Topology, topology_text: str, path: Path = SOCKET) -> None:
    """Serve until the container stops; then remove the socket file."""
    signal.signal(signal.SIGTERM, _exit_on_signal)
    listener = listen(path)
    try:
        switch = Switch(topology, topology_text)
        _say(f"waiting for {len(topology.nodes)} nodes on {path}")
        switch.serve(listener)
    finally:
        path.unlink(missing_ok=True)
        listener.close()
