"""Loss-free capture of every frame entering a bridge, from inside its namespace.

One raw AF_PACKET socket, not bound to any interface, sees every interface of
the namespace it was created in. Construct `PortCapture` while entered in the
switch namespace; the socket then stays there whatever the thread does next:

    with entered(switch_ns):
        cap = PortCapture(ports)
    cap.start()
    ...  # the lab acts
    result = cap.stop()

The kernel queues frames for the socket from the moment it exists, so the
capture is ready before the lab acts: there is no start-up race.

A frame *entering* the bridge from a port is a frame the node on that port
sent on its LAN, so only frames received on a port (pkttype != OUTGOING) are
kept: each frame is recorded exactly once per link. A classic BPF filter drops
everything else (bridge device, outgoing copies) in the kernel, before it can
use buffer space.
"""

from __future__ import annotations

import ctypes
import select
import socket
import struct
import threading
import time
from collections.abc import Mapping
from types import TracebackType

from protolab.capture.frames import CaptureResult, Port, RawFrame
from protolab.live.deferred_close import close_soon

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_STATISTICS = 6
PACKET_OUTGOING = 4
SO_RCVBUFFORCE = 33
SO_TIMESTAMPNS = 35  # SCM_TIMESTAMPNS has the same value
SO_ATTACH_FILTER = 26
SNAPLEN = 65535
_ANCBUF = socket.CMSG_SPACE(16)  # struct timespec
_POLL_MS = 10

# Classic BPF: ld [ancillary], jeq, ret.
_SKF_AD_OFF = -0x1000
_SKF_AD_PKTTYPE = 4
_SKF_AD_IFINDEX = 8
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_RET_K = 0x06

Raw = tuple[bytes, tuple, bytes | int]  # data, sockaddr_ll tuple, timespec or time_ns


def _port_filter(ifindexes: list[int], egress: bool = False) -> list[tuple[int, int, int, int]]:
    """BPF program: accept frames received on (or, with `egress`, sent from) one of `ifindexes`."""

    def ld(ad: int) -> tuple[int, int, int, int]:
        return (_LD_W_ABS, 0, 0, (_SKF_AD_OFF + ad) & 0xFFFFFFFF)

    if egress:  # keep only outgoing frames: skip the reject when pkttype == OUTGOING
        prog = [ld(_SKF_AD_PKTTYPE), (_JEQ_K, 1, 0, PACKET_OUTGOING), (_RET_K, 0, 0, 0)]
    else:
        prog = [ld(_SKF_AD_PKTTYPE), (_JEQ_K, 0, 1, PACKET_OUTGOING), (_RET_K, 0, 0, 0)]
    prog.append(ld(_SKF_AD_IFINDEX))
    for ifindex in ifindexes:
        prog += [(_JEQ_K, 0, 1, ifindex), (_RET_K, 0, 0, SNAPLEN)]
    prog.append((_RET_K, 0, 0, 0))
    return prog


def _attach_filter(sock: socket.socket, prog: list[tuple[int, int, int, int]]) -> None:
    insns = b"".join(struct.pack("HBBI", *insn) for insn in prog)
    buf = ctypes.create_string_buffer(insns)
    fprog = struct.pack("HL", len(prog), ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


class PortCapture:
    """Record every frame that enters the switch namespace's bridge from `ports`.

    With `egress=True` it records the frames *sent* from `ports` instead: for
    capturing on a node's own interfaces (where a frame the node sent is
    outgoing), when there is no switch namespace to capture in."""

    def __init__(self, ports: Mapping[int, Port], rcvbuf_bytes: int = 256 * 2**20, egress: bool = False) -> None:
        self._ports = dict(ports)
        self._egress = egress
        # Received frames name their interface; resolve it here, in the switch namespace.
        self._by_name = {socket.if_indextoname(i): p for i, p in self._ports.items()}
        self._raw: list[Raw] = []
        self._packets = 0
        self._drops = 0
        self._stopping = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            _attach_filter(self._sock, _port_filter(list(self._ports), egress))
            try:
                self._sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf_bytes)
            except PermissionError:
                self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf_bytes)
            self._sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            self._sock.setblocking(False)
        except BaseException:
            self._sock.close()
            raise

    def start(self) -> None:
        """Drain the socket in a daemon thread until `stop()`."""
        if self._thread is not None:
            raise RuntimeError("capture already started")
        self._thread = threading.Thread(target=self._run, name="port-capture", daemon=True)
        self._thread.start()

    def stop(self, settle_s: float = 0.02, max_wait_s: float = 2.0) -> CaptureResult:
        """Wait for `settle_s` of quiet (at most `max_wait_s`), stop, return the capture."""
        if self._closed:
            raise RuntimeError("capture already closed")
        if self._thread is not None:
            deadline = time.monotonic() + max_wait_s
            seen = len(self._raw)
            time.sleep(settle_s)
            while seen != len(self._raw) and time.monotonic() < deadline:
                seen = len(self._raw)
                time.sleep(settle_s)
            self._stopping = True
            self._thread.join()
        self._drain()
        self._read_stats()
        self.close()
        return self._result()

    def close(self) -> None:
        """Stop the thread (if any) and close the socket; safe to call twice."""
        self._stopping = True
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        if not self._closed:
            self._closed = True
            close_soon(self._sock)  # a packet socket takes 8-20 ms to close: not on the lab's path

    def __enter__(self) -> PortCapture:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._sock, select.POLLIN)
        while not self._stopping:
            self._drain()
            poller.poll(_POLL_MS)

    def _drain(self) -> None:
        """Receive everything queued now, as cheaply as possible."""
        recvmsg, append, time_ns = self._sock.recvmsg, self._raw.append, time.time_ns
        while True:
            try:
                data, anc, _flags, addr = recvmsg(SNAPLEN, _ANCBUF)
            except BlockingIOError:
                return
            append((data, addr, anc[0][2] if anc else time_ns()))

    def _read_stats(self) -> None:
        # Reading PACKET_STATISTICS resets the kernel counters, hence +=.
        # tp_packets already includes tp_drops.
        packets, drops = struct.unpack(
            "II", self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
        )
        self._packets += packets
        self._drops += drops

    def _result(self) -> CaptureResult:
        frames = []
        for data, addr, ts in self._raw:
            ifname, _proto, pkttype = addr[:3]
            port = self._by_name.get(ifname)
            if port is None or (pkttype == PACKET_OUTGOING) != self._egress:
                continue  # queued before the kernel filter was attached
            if isinstance(ts, bytes):
                sec, nsec = struct.unpack("qq", ts)
                ts = sec * 1_000_000_000 + nsec
            frames.append(RawFrame(time_ns=ts, link=port.link, sender=port.node, data=data))
        frames.sort(key=lambda f: f.time_ns)
        links = tuple(dict.fromkeys(p.link for p in self._ports.values()))
        return CaptureResult(
            frames=tuple(frames),
            links=links,
            kernel_packets=self._packets,
            kernel_drops=self._drops,
        )
