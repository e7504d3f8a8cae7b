"""Run a command in a node with a resolv.conf of its own, e.g. `dig +trace`.

Tools that resolve names themselves (dig +trace looks up the addresses of
name servers given without glue) read /etc/resolv.conf. The node gets its own
file from the run's work directory, bind-mounted over /etc/resolv.conf in a
private mount namespace that exists only for the command: the host's
/etc/resolv.conf is never touched, and nothing remains afterwards.

    run_with_resolver(deployment.node("client"), ["dig", "+trace", "@10.0.2.11", "www.example.lab"], ["10.0.2.53"])
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Sequence

from ..backends.base import NodeHandle

MOUNT_AND_RUN = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'


def resolv_conf(nameservers: Sequence[str], search: Sequence[str] = ()) -> str:
    lines = [f"nameserver {ns}" for ns in nameservers]
    if search:
        lines.append("search " + " ".join(search))
    return "\n".join(lines) + "\n"


def with_resolver(node: NodeHandle, argv: Sequence[str], nameservers: Sequence[str], workdir: Path | None = None) -> list[str]:
    """argv wrapped to run in `node` with /etc/resolv.conf naming `nameservers` (the file is
    written to the run's work directory, or `workdir`): for NodeHandle.run, popen or call."""
    conf = Path(workdir or node.deployment.workdir) / f"resolv.conf.{node.name}"
    conf.write_text(resolv_conf(nameservers))
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", MOUNT_AND_RUN, str(conf), *argv]


def run_with_resolver(
    node: NodeHandle, argv: Sequence[str], nameservers: Sequence[str], workdir: Path | None = None, *, timeout: float = 10.0
) -> subprocess.CompletedProcess:
    """Run argv in `node` (and wait) with /etc/resolv.conf naming `nameservers`."""
    return node.run(with_resolver(node, argv, nameservers, workdir), timeout=timeout)
