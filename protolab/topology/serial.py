"""A topology as plain data, the shape of its TOML file: what a capture records of its run."""

from __future__ import annotations

from typing import Any

from .model import DEFAULT_MTU, Topology


def to_data(topology: Topology) -> dict[str, Any]:
    """The topology as tables and lists (JSON- and TOML-shaped); `loader.from_data` reads it back."""
    lans: dict[str, Any] = {}
    for lan in topology.lans:
        lans[lan.name] = {"subnet": str(lan.subnet), "description": lan.description}
        if lan.mtu != DEFAULT_MTU:
            lans[lan.name]["mtu"] = lan.mtu
    nodes: dict[str, Any] = {}
    for node in topology.nodes:
        spec: dict[str, Any] = {"role": node.role, "description": node.description,
                                "interfaces": [{"lan": i.lan, "ip": str(i.ip), "mac": i.mac} for i in node.interfaces]}
        if node.gateway is not None:
            spec["gateway"] = str(node.gateway)
        if node.forwarding:
            spec["forwarding"] = True
        if node.services:
            spec["services"] = [{"kind": s.kind, **({"port": s.port} if s.port is not None else {}), **_plain(s.options)}
                                for s in node.services]
        nodes[node.name] = spec
    return {"name": topology.name, "description": topology.description, "lans": lans, "nodes": nodes}


def _plain(value: Any) -> Any:
    """Mapping proxies and tuples as dicts and lists."""
    if hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
