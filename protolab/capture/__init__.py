"""Kernel-level capture of the frames nodes send, and pcapng output."""

from protolab.capture.afpacket import PortCapture
from protolab.capture.frames import CaptureResult, Port, RawFrame
from protolab.capture.pcapng import read_pcapng, write_pcapng

__all__ = ["CaptureResult", "Port", "PortCapture", "RawFrame", "read_pcapng", "write_pcapng"]
