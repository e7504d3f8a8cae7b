"""The topology as data: model, loader and validation (no root needed)."""

from .loader import default_path, from_data, load, loads
from .model import Interface, Lan, Node, Service, Topology
from .serial import to_data
from .validate import validate

__all__ = ["Interface", "Lan", "Node", "Service", "Topology", "default_path", "from_data", "load", "loads", "to_data", "validate"]
