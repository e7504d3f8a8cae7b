"""One exception base with a few subclasses, each carrying a one-line message.

A failed expectation is a returned verdict, never an exception: these are for
a broken topology, backend or lab (the CLI maps them to exit code 2). A capture
that cannot be read is capture.reader.CaptureError, a ValueError.
"""


class ProtolabError(Exception):
    """Base of every error protolab raises on purpose."""


class TopologyError(ProtolabError):
    """The topology file is missing, malformed or inconsistent."""


class BackendError(ProtolabError):
    """Deploying, entering or tearing down the lab's network failed."""


class LabError(ProtolabError):
    """A lab file or a student's solution could not be loaded or run."""


class AuthorError(LabError):
    """The lab file is wrong, not the student's code (an expectation that cannot mean what it says)."""
