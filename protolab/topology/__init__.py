"""The topology as data: model, loader and validation (no root needed)."""

from .loader import default_path, load, loads
from .model import Interface, Lan, Node, Service, Topology
from .validate import validate

__all__ = ["Interface", "Lan", "Node", "Service", "Topology", "default_path", "load", "loads", "validate"]
