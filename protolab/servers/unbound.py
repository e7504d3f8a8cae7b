"""Unbound as the lab's recursive resolver, knowing only the lab's own root.

Iterator only (no DNSSEC validation), IPv4 only, no QNAME minimisation and no
prefetching: its walk then looks like the one a student makes by hand, and
every run starts with an empty cache.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Sequence

from ..backends.base import NodeHandle
from .dnsprobe import DnsProbe
from .process import NodeProgram, ServiceError

PROGRAM = "unbound"


def root_hints(servers: Sequence[tuple[str, str]]) -> str:
    """A root hints file naming the given (name, address) root servers."""
    lines = [f".  3600000  IN  NS  {name}" for name, _ in servers]
    lines += [f"{name}  3600000  IN  A  {address}" for name, address in servers]
    return "\n".join(lines) + "\n"


def unbound_conf(directory: Path, allow: Sequence[str] = ("10.0.0.0/8",)) -> str:
    """The unbound.conf text; the root hints are read from `directory`/root.hints."""
    lines = [
        "# written by protolab for one run",
        "server:",
        "    do-daemonize: no",
        '    chroot: ""',
        '    username: ""',
        f'    directory: "{directory}"',
        f'    pidfile: "{directory}/unbound.pid"',
        "    use-syslog: no",
        '    logfile: ""',
        "    verbosity: 1",
        "    interface: 0.0.0.0",
        "    port: 53",
        "    do-ip6: no",
        "    num-threads: 1",
        "    so-reuseport: no",
        "    outgoing-range: 64",
        # glibc 2.36 makes each arc4random() a getrandom() syscall: shuffling all
        # 64512 ports at start would cost ~70000 of them. 1000 ports are plenty.
        "    outgoing-port-avoid: 0-65535",
        "    outgoing-port-permit: 40000-40999",
        '    module-config: "iterator"',
        f'    root-hints: "{directory}/root.hints"',
        "    qname-minimisation: no",
        "    prefetch: no",
        '    target-fetch-policy: "0 0 0 0 0"',
        "    msg-cache-size: 1m",
        "    rrset-cache-size: 1m",
        # special-use names Unbound would answer itself: the lab's root decides
        *(f'    local-zone: "{zone}" nodefault' for zone in ("test.", "invalid.", "onion.", "home.arpa.")),
        "    access-control: 127.0.0.0/8 allow",
        *(f"    access-control: {net} allow" for net in allow),
        "remote-control:",
        "    control-enable: no",
    ]
    return "\n".join(lines) + "\n"


def unbound_program(
    node: NodeHandle, roots: Sequence[tuple[str, str]], directory: Path, allow: Sequence[str] = ("10.0.0.0/8",)
) -> NodeProgram:
    """Unbound in `node` with `roots` as its root hints, answering clients in `allow`,
    configured in `directory`; not started yet."""
    if shutil.which(PROGRAM) is None:
        raise ServiceError("unbound is not installed (scripts/bootstrap installs it)")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "root.hints").write_text(root_hints(roots))
    conf = directory / "unbound.conf"
    conf.write_text(unbound_conf(directory, allow))
    probe = DnsProbe(node, "version.server", "TXT", "CH")  # answered by unbound itself: no recursion
    return NodeProgram(
        node, [PROGRAM, "-d", "-c", str(conf)], what="unbound", log=directory / "unbound.log", probe=probe, close=probe.close
    )
