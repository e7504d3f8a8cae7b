"""What the container engines change on the host, saved before the container stage and put back after.

Podman's network layer may turn on the host's IPv4 forwarding, adds firewall
chains (iptables-nft tables, seen in `nft list ruleset`), leaves IPAM state
under /var/lib/cni and bridges in the root namespace. dockerd, when it
starts, turns on forwarding, adds the `ip nat` and `ip filter` tables, the
docker0 bridge, and sets the br_netfilter sysctls. `HostState.save()`
records all of that; `restore()` removes exactly what appeared since (tables
that are new are deleted, tables that changed are put back as they were) and
returns what it had to put back.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SYSCTLS = (
    "net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding",
    # dockerd loads br_netfilter and sets these (where the module is loaded)
    "net/bridge/bridge-nf-call-iptables", "net/bridge/bridge-nf-call-ip6tables",
)
CNI_STATE_DIRS = (Path("/var/lib/cni/networks"), Path("/var/lib/cni/results"))


def _sh(*argv: str, input: str | None = None) -> str:
    done = subprocess.run(argv, input=input, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


def _tables() -> dict[tuple[str, str], str]:
    """Every nftables table of the host, as `nft list table` prints it (loadable again)."""
    tables = {}
    for line in _sh("nft", "list", "tables").splitlines():
        _, family, name = line.split()
        tables[(family, name)] = _sh("nft", "list", "table", family, name)
    return tables


def _links() -> dict[str, str]:
    """Root-namespace links by name, with their kind (bridge, veth, ...)."""
    links = {}
    for link in json.loads(_sh("ip", "-d", "-j", "link", "show")):
        links[link["ifname"]] = (link.get("linkinfo") or {}).get("info_kind", "")
    return links


def _entries(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


@dataclass(frozen=True)
class HostState:
    sysctls: dict[str, str]
    tables: dict[tuple[str, str], str]
    links: dict[str, str]
    cni_entries: dict[Path, set[str]]

    @classmethod
    def save(cls) -> HostState:
        return cls(
            sysctls={k: Path("/proc/sys", k).read_text().strip() for k in SYSCTLS if Path("/proc/sys", k).exists()},
            tables=_tables(),
            links=_links(),
            cni_entries={d: _entries(d) for d in CNI_STATE_DIRS},
        )

    def restore(self) -> list[str]:
        """Put the host back as saved; returns what differed (and was put back)."""
        restored = []
        for key, value in self.sysctls.items():
            path = Path("/proc/sys", key)
            if path.read_text().strip() != value:
                path.write_text(value)
                restored.append(f"sysctl {key} back to {value}")
        now = _tables()
        for (family, name), text in now.items():
            if (family, name) not in self.tables:
                _sh("nft", "delete", "table", family, name)
                restored.append(f"removed nftables table {family} {name}")
            elif text != self.tables[(family, name)]:
                _sh("nft", "delete", "table", family, name)
                _sh("nft", "-f", "-", input=self.tables[(family, name)])
                restored.append(f"restored nftables table {family} {name}")
        for name, kind in _links().items():
            if name not in self.links and kind == "bridge":
                _sh("ip", "link", "delete", name)
                restored.append(f"removed bridge {name}")
        for folder, before in self.cni_entries.items():
            for entry in sorted(_entries(folder) - before):
                path = folder / entry
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
                restored.append(f"removed {path}")
        return restored

    def differences(self) -> list[str]:
        """What differs now from the saved state (empty when restored)."""
        now = HostState.save()
        out = [f"sysctl {k} is {now.sysctls.get(k)}, was {v}" for k, v in self.sysctls.items() if now.sysctls.get(k) != v]
        out += [f"nftables table {t[0]} {t[1]} changed" for t in set(now.tables) | set(self.tables) if now.tables.get(t) != self.tables.get(t)]
        out += [f"new link {name}" for name in set(now.links) - set(self.links) if now.links[name] == "bridge"]
        out += [f"new {d / e}" for d, before in self.cni_entries.items() for e in now.cni_entries[d] - before]
        return out
