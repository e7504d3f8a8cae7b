"""protolab: a real-packet protocol lab."""

__version__ = "0.1.0"
