"""Lab files, the context they act through, and the runner."""

from .api import Lab, LabContext

__all__ = ["Lab", "LabContext"]
