"""Inside a container: become the topology's node with the lan-switch's help, then stay up.

`protolab node-init NODE` is every node container's command (docker-compose.yml).
The container has no engine network (`network_mode: none`, only lo). This
checks the sysctls the compose file sets (IPv6 off, forwarding), makes
/proc/sys writable where protolab itself runs (the client: labs set other
nodes' sysctls through it), registers with the lan-switch container (which
adds the node's ports, see switch_init.py), sets the addresses and default
route on its side, and then execs `sleep infinity` holding the registration
open: the node's programs are started by lab runs.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from ..confine import channel
from ..errors import BackendError
from ..topology.model import Node, Topology
from .kernel_settings import node_sysctls, proc_path
from .switch_init import SOCKET
from .wiring import configure_node

RETRY = 0.05  # seconds between tries while the lan-switch is not listening yet
SAY_WAITING_AFTER = 10.0


def _read_sysctl(path: str) -> str:
    try:
        return Path(f"/proc/sys/{path}").read_text().strip()
    except OSError:
        return "?"


def check_sysctls(node: Node) -> list[str]:
    """What differs from the sysctls the node needs (set by the engine)."""
    wanted = {proc_path(name): value for name, value in node_sysctls(node).items()}
    return [f"{key} is {_read_sysctl(key)}, expected {value}" for key, value in wanted.items() if _read_sysctl(key) != value]


def make_proc_sys_writable() -> None:
    """Remount the container's read-only /proc/sys read-write (needs SYS_ADMIN).

    Engines mount it read-only; Docker Compose v2 and podman could be told
    `systempaths=unconfined`, but Compose v1 rejects that option."""
    from ..confine import linux

    if os.access("/proc/sys/net/ipv4/ip_forward", os.W_OK):  # EROFS on a read-only mount
        return
    flags = linux.MS_REMOUNT | linux.MS_BIND | linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC
    try:
        linux.mount(None, "/proc/sys", None, flags)
    except OSError as exc:
        raise BackendError(f"cannot make /proc/sys writable ({exc.strerror or exc}): the client needs SYS_ADMIN") from None


def register(node: Node, path: Path = SOCKET) -> socket.socket:
    """Hand the lan-switch the namespaces of the calling thread; returns the open registration."""
    start, said = time.monotonic(), False
    while True:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            connection.connect(str(path))
            break
        except (FileNotFoundError, ConnectionRefusedError):
            connection.close()
        if not said and time.monotonic() - start > SAY_WAITING_AFTER:
            print(f"protolab: node {node.name} is waiting for the lan-switch container ({path})", flush=True)
            said = True
        time.sleep(RETRY)
    fds = [os.open(f"/proc/thread-self/ns/{kind}", os.O_RDONLY) for kind in ("net", "mnt")]
    try:
        channel.send(connection, {"op": "register", "node": node.name}, fds)
    finally:
        for fd in fds:
            os.close(fd)
    answer, _ = channel.receive(connection)
    if not answer or not answer.get("ok"):
        raise BackendError(f"node {node.name}: the lan-switch refused it: {(answer or {}).get('error', 'no answer')}")
    return connection


def init_node(node: Node, topology: Topology, *, runs_protolab: bool) -> None:
    """Set the node up, and become `sleep infinity` holding the registration."""
    from pyroute2 import IPRoute

    problems = check_sysctls(node)
    if problems:
        raise BackendError(f"node {node.name}: {'; '.join(problems)} (the compose file sets these sysctls)")
    if runs_protolab:
        make_proc_sys_writable()
    connection = register(node)
    with IPRoute() as ipr:
        configure_node(ipr, node, topology)
    print(f"protolab: node {node.name} ready ({', '.join(f'{i.name} {i.ip}' for i in node.interfaces)})", flush=True)
    os.set_inheritable(connection.fileno(), True)  # the switch drops the node's ports when it closes
    os.execvp("sleep", ["sleep", "infinity"])
