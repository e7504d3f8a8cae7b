"""Load a topology file (TOML) into the immutable model, then validate it.

A file may start from the packaged default and change only what differs:

    extends = "default"
    [lans.lan2]
    mtu = 1400                      # a smaller MTU on the server LAN

Tables merge key by key (a new LAN or node is a new table); any other value,
an interface list included, replaces the base's. `from_data` builds the same
model from already-parsed data (what a capture records of its run).
"""

from __future__ import annotations

import tomllib
from importlib import resources
from ipaddress import AddressValueError, IPv4Address, IPv4Network, NetmaskValueError
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import TopologyError
from ..files import FileRefused, read_bounded
from .model import DEFAULT_MTU, Interface, Lan, Node, Service, Topology
from .validate import validate

DEFAULT_NAME = "default"
MAX_BYTES = 1 << 20  # a topology is a few kilobytes
MAX_NESTING = 16  # tables and arrays inside each other (the default topology: 6)
BASES = (DEFAULT_NAME,)  # what `extends` may name: the packaged topologies
MTU_RANGE = (576, 9000)  # IPv4's minimum datagram every host accepts .. a jumbo frame


def default_path() -> Path:
    return Path(str(resources.files(__package__).joinpath(f"{DEFAULT_NAME}.toml")))


def load(path: str | Path | None = None) -> Topology:
    """Read, parse and validate a topology file (the packaged default if None)."""
    path = Path(path) if path is not None else default_path()
    try:
        text = read_bounded(path, limit=MAX_BYTES, what="topology files").decode("utf-8")
    except OSError as exc:
        raise TopologyError(f"cannot read topology {path}: {exc.strerror or exc}") from None
    except FileRefused as exc:
        raise TopologyError(f"cannot read topology {path}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise TopologyError(
            f"cannot read topology {path}: not UTF-8 ({exc.reason} at byte {exc.start})"
        ) from None
    return loads(text, source=str(path))


def loads(text: str, source: str = "<topology>") -> Topology:
    """Parse and validate topology TOML text."""
    depth = nesting(text)
    if depth > MAX_NESTING:  # tomllib recurses once per level: refuse before it runs out of stack
        raise TopologyError(f"{source}: nested {depth} levels deep (at most {MAX_NESTING} are allowed)")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TopologyError(f"{source}: not valid TOML: {exc}") from None
    except RecursionError:  # not reached after the check above; kept as a last guard
        raise TopologyError(f"{source}: nested too deeply") from None
    beside = Path(source).parent
    files_dir = str(beside) if Path(source).is_file() and (beside / "zones").is_dir() else ""
    if "extends" in data:
        base = data.pop("extends")
        if base not in BASES:
            raise TopologyError(f"{source}: extends {base!r}: only {', '.join(repr(b) for b in BASES)} can be extended")
        base_path = default_path()
        data = merged(tomllib.loads(base_path.read_text(encoding="utf-8")), {"name": Path(source).stem, **data})
        files_dir = files_dir or str(base_path.parent)
    return from_data(data, source, files_dir)


def from_data(data: Any, source: str = "<topology>", files_dir: str = "") -> Topology:
    """The topology of parsed data (a TOML file's, or the JSON a capture records), validated."""
    if not isinstance(data, dict):
        raise TopologyError(f"{source}: a topology is a table")
    depth = data_depth(data)
    if depth > MAX_NESTING:  # dotted keys (a.b.c.d = 1) nest without brackets
        raise TopologyError(f"{source}: nested {depth} levels deep (at most {MAX_NESTING} are allowed)")
    topology = _build(data, source, files_dir)
    validate(topology, source)
    return topology


def merged(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`base` with `changes` laid over it: tables merge key by key, other values replace."""
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def nesting(text: str) -> int:
    """The deepest nesting of [ and { in TOML text, outside strings and comments.

    A linear scan, no recursion: it bounds the input before tomllib (which
    recurses per level) sees it. Table headers ([a], [[a]]) count as one or
    two levels while they are open, which only overestimates."""
    depth = deepest = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif c in "\"'":
            quote = c * 3 if text.startswith(c * 3, i) else c
            i += len(quote)
            while i < n and not text.startswith(quote, i):
                if c == '"' and text[i] == "\\":
                    i += 1  # an escaped character, maybe a quote
                elif len(quote) == 1 and text[i] == "\n":
                    break  # a one-line string ends at the line's end (tomllib reports it)
                i += 1
            i += len(quote)
            continue
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth = max(depth - 1, 0)
        i += 1
    return deepest


def data_depth(data: Any) -> int:
    """How deeply tables and arrays nest in parsed data (iterative)."""
    deepest, todo = 0, [(data, 1)]
    while todo:
        value, depth = todo.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, depth)
        todo.extend((child, depth + 1) for child in children)
    return deepest


def _build(data: dict[str, Any], source: str, files_dir: str = "") -> Topology:
    _only(data, {"name", "description", "lans", "nodes"}, source, "top level")
    lans = tuple(_lan(name, spec, source) for name, spec in _table(data, "lans", source).items())
    nodes = tuple(_node(name, spec, source) for name, spec in _table(data, "nodes", source).items())
    return Topology(
        name=str(data.get("name", Path(source).stem)),
        description=str(data.get("description", "")),
        lans=lans,
        nodes=nodes,
        source=source,
        files_dir=files_dir,
    )


def _lan(name: str, spec: Any, source: str) -> Lan:
    where = f"lan {name!r}"
    spec = _as_table(spec, source, where)
    _only(spec, {"subnet", "description", "mtu"}, source, where)
    if "subnet" not in spec:
        raise TopologyError(f"{source}: {where} has no subnet")
    mtu = spec.get("mtu", DEFAULT_MTU)
    if not isinstance(mtu, int) or isinstance(mtu, bool) or not MTU_RANGE[0] <= mtu <= MTU_RANGE[1]:
        raise TopologyError(f"{source}: {where}: mtu {mtu!r} is not a whole number from {MTU_RANGE[0]} to {MTU_RANGE[1]}")
    try:
        subnet = IPv4Network(str(spec["subnet"]), strict=True)
    except (AddressValueError, NetmaskValueError, ValueError) as exc:
        raise TopologyError(f"{source}: {where}: bad subnet {spec['subnet']!r} ({exc})") from None
    return Lan(name=name, subnet=subnet, description=str(spec.get("description", "")), mtu=mtu)


def _node(name: str, spec: Any, source: str) -> Node:
    where = f"node {name!r}"
    spec = _as_table(spec, source, where)
    _only(
        spec,
        {"role", "description", "gateway", "forwarding", "interfaces", "services"},
        source,
        where,
    )
    raw_ifaces = spec.get("interfaces", [])
    if not isinstance(raw_ifaces, list):
        raise TopologyError(f"{source}: {where}: interfaces must be a list")
    interfaces = tuple(
        _interface(f"eth{k}", item, source, where) for k, item in enumerate(raw_ifaces)
    )
    gateway = spec.get("gateway")
    forwarding = spec.get("forwarding", False)
    if not isinstance(forwarding, bool):
        raise TopologyError(f"{source}: {where}: forwarding must be true or false, not {forwarding!r}")
    services = spec.get("services", [])
    if not isinstance(services, list):
        raise TopologyError(f"{source}: {where}: services must be a list")
    return Node(
        name=name,
        role=str(spec.get("role", "host")),
        description=str(spec.get("description", "")),
        interfaces=interfaces,
        gateway=_address(gateway, source, f"{where} gateway") if gateway is not None else None,
        forwarding=forwarding,
        services=tuple(_service(item, source, where) for item in services),
    )


def _interface(ifname: str, spec: Any, source: str, where: str) -> Interface:
    where = f"{where} {ifname}"
    spec = _as_table(spec, source, where)
    _only(spec, {"lan", "ip", "mac"}, source, where)
    for key in ("lan", "ip", "mac"):
        if key not in spec:
            raise TopologyError(f"{source}: {where} has no {key}")
    return Interface(
        name=ifname,
        lan=str(spec["lan"]),
        ip=_address(spec["ip"], source, f"{where} ip"),
        mac=str(spec["mac"]).lower(),
    )


def _service(spec: Any, source: str, where: str) -> Service:
    spec = _as_table(spec, source, f"{where} service")
    if "kind" not in spec:
        raise TopologyError(f"{source}: {where}: a service has no kind")
    port = spec.get("port")
    if port is not None and (not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536):
        raise TopologyError(f"{source}: {where}: service port {port!r} is not 1-65535")
    options = {k: v for k, v in spec.items() if k not in {"kind", "port"}}
    return Service(kind=str(spec["kind"]), port=port, options=MappingProxyType(options))


def _address(value: Any, source: str, where: str) -> IPv4Address:
    try:
        return IPv4Address(str(value))
    except AddressValueError:
        raise TopologyError(f"{source}: {where}: {value!r} is not an IPv4 address") from None


def _table(data: dict[str, Any], key: str, source: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise TopologyError(f"{source}: '{key}' must be a table")
    return value


def _as_table(value: Any, source: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TopologyError(f"{source}: {where} must be a table")
    return value


def _only(spec: dict[str, Any], allowed: set[str], source: str, where: str) -> None:
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise TopologyError(
            f"{source}: {where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})"
        )
