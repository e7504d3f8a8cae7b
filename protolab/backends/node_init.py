"""Inside a container: become the topology's node with the lan-switch's help, then stay up.

`protolab-node NODE` is every container's command (docker-compose.yml);
`protolab-node lan-switch` runs the switch (switch_init.py). It is a console
script of its own, lighter than the `protolab` CLI: ten of them start at
once on `up`.
The container has no engine network (`network_mode: none`, only lo). This
checks the sysctls the compose file sets (IPv6 off, forwarding), makes
/proc/sys writable where protolab itself runs (the client: labs set other
nodes' sysctls through it), registers with the lan-switch container (which
adds the node's ports, see switch_init.py), turns their transmit checksum
offload off, sets the addresses and default route on its side, and then
execs `sleep infinity` holding the registration open: the node's programs
are started by lab runs.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from ..confine import channel
from ..errors import BackendError, ProtolabError
from ..topology import default_path, loads
from ..topology.model import Node, Topology
from .compose_file import ENV_NODE, ENV_TOPOLOGY, SWITCH_SERVICE, runner_node
from .compose_file import SWITCH_SOCKET as SOCKET
from ..kernel.sysctl import read_sysctl
from .kernel_settings import node_sysctls
from .wiring import checksum_offload_off, configure_commands

RETRY = 0.05  # seconds between tries while the lan-switch is not listening yet
SAY_WAITING_AFTER = 10.0


def _current(name: str) -> str:
    try:
        return read_sysctl(name)
    except OSError:
        return "?"


def check_sysctls(node: Node) -> list[str]:
    """What differs from the sysctls the node needs (set by the engine)."""
    now = {name: _current(name) for name in node_sysctls(node)}
    return [f"{name} is {now[name]}, expected {value}" for name, value in node_sysctls(node).items() if now[name] != value]


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


def configure(node: Node, topology: Topology) -> None:
    """This node's side of the wiring, in the calling thread's namespace:
    transmit checksum offload off, addresses, links up, the default route."""
    try:
        checksum_offload_off(node)
    except OSError as exc:
        raise BackendError(f"node {node.name}: {exc.strerror or exc}") from None
    script = "".join(line + "\n" for line in configure_commands(node, topology))
    done = subprocess.run(["ip", "-batch", "-"], input=script, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackendError(f"node {node.name}: setting up its interfaces failed: {done.stderr.strip()}")


def init_node(node: Node, topology: Topology, *, runs_protolab: bool) -> None:
    """Set the node up, and become `sleep infinity` holding the registration."""
    problems = check_sysctls(node)
    if problems:
        raise BackendError(f"node {node.name}: {'; '.join(problems)} (the compose file sets these sysctls)")
    if runs_protolab:
        make_proc_sys_writable()
    connection = register(node)
    configure(node, topology)
    print(f"protolab: node {node.name} ready ({', '.join(f'{i.name} {i.ip}' for i in node.interfaces)})", flush=True)
    os.set_inheritable(connection.fileno(), True)  # the switch drops the node's ports when it closes
    os.execvp("sleep", ["sleep", "infinity"])


def container_topology(name: str) -> tuple[Topology, str]:
    """The stack's topology (its file, or the packaged one) and its text.

    Refused outside a lab container: this rewires the namespace it runs in."""
    if os.environ.get(ENV_NODE) != name:
        raise BackendError(f"protolab-node is a lab container's command: it runs only where {ENV_NODE}={name}")
    path = Path(os.environ.get(ENV_TOPOLOGY) or default_path())
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BackendError(f"cannot read the topology {path}: {exc.strerror or exc}") from None
    return loads(text, str(path)), text


def main(argv: list[str] | None = None) -> int:
    """`protolab-node NAME`: the command of every container of the stack."""
    parser = argparse.ArgumentParser(prog="protolab-node", description="A lab container's command: become NAME "
                                     f"(a node of the topology, or {SWITCH_SERVICE}).")
    parser.add_argument("name", metavar="NAME")
    args = parser.parse_args(argv)
    try:
        topology, text = container_topology(args.name)
        if args.name == SWITCH_SERVICE:
            from .switch_init import run_switch

            run_switch(topology, text)
            return 0
        try:
            node = topology.node(args.name)
        except KeyError:
            raise BackendError(f"topology '{topology.name}' has no node '{args.name}'") from None
        init_node(node, topology, runs_protolab=args.name == runner_node(topology))
    except ProtolabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0
