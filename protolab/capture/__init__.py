"""Kernel-level capture of the frames nodes send, pcapng output, and reading captures back."""

from protolab.capture.afpacket import PortCapture
from protolab.capture.frames import CaptureResult, Port, RawFrame
from protolab.capture.pcapng import read_pcapng, write_pcapng
from protolab.capture.reader import CaptureError, CaptureInfo, StoredFrame, open_capture

__all__ = [
    "CaptureError",
    "CaptureInfo",
    "CaptureResult",
    "Port",
    "PortCapture",
    "RawFrame",
    "StoredFrame",
    "open_capture",
    "read_pcapng",
    "write_pcapng",
]
