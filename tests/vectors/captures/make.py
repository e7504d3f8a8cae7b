"""Regenerate the capture vectors with Wireshark's own tools (see README.md).

Run once from anywhere: .venv/bin/python tests/vectors/captures/make.py
Needs text2pcap, editcap and mergecap (Wireshark 4.0) and gzip; packets are
built with scapy, written by text2pcap, converted by editcap and merged by
mergecap, so every file is exactly what those tools write.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Ether

HERE = Path(__file__).resolve().parent
MAC = "02:00:00:00:00:01"
T0 = 1_700_000_000  # 2023-11-14T22:13:20Z

ETHERNET = [
    bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src=MAC) / ARP(hwsrc=MAC, psrc="10.0.0.1", pdst="10.0.0.2")),
    bytes(Ether(dst="02:00:00:00:00:02", src=MAC) / IP(src="10.0.0.1", dst="10.0.0.2")
          / UDP(sport=5353, dport=53) / (b"protolab" * 20)),
    bytes(Ether(dst="33:33:00:00:00:01", src=MAC) / IPv6(src="fe80::1", dst="ff02::1") / UDP(sport=9, dport=9)),
]
IPV4 = bytes(IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=5353, dport=53) / b"raw ipv4")
IPV6 = bytes(IPv6(src="fe80::1", dst="fe80::2") / UDP(sport=9, dport=9) / b"raw ipv6")
SLL = bytes.fromhex("0000 0001 0006 020000000001 0000 0800")  # to us, ARPHRD_ETHER, 6-byte address, IPv4
SLL2 = bytes.fromhex("0800 0000 00000002 0001 04 06 020000000001 0000")  # IPv4, ifindex 2, outgoing


def text(frames: list[bytes], first_ns: int) -> str:
    """text2pcap input: one frame per line, its `-t %s.%f` timestamp first (frames 1.000001 s apart)."""
    lines = []
    for i, data in enumerate(frames):
        seconds, ns = divmod(T0 * 10**9 + first_ns + i * 1_000_001_000, 10**9)
        lines.append(f"{seconds}.{ns:09d} 000000 " + " ".join(f"{b:02x}" for b in data))
    return "\n".join(lines) + "\n"


def run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, cwd=HERE)  # relative names: mergecap records them


def text2pcap(name: str, frames: list[bytes], first_ns: int, *options: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "frames.txt"
        source.write_text(text(frames, first_ns))
        run("text2pcap", "-q", "-t", "%s.%f", *options, str(source), name)


def gzip(name: str) -> None:
    zipped = subprocess.run(["gzip", "-9nc", name], check=True, capture_output=True, cwd=HERE).stdout
    (HERE / f"{name}.gz").write_bytes(zipped)


def main() -> None:
    text2pcap("plain.pcapng", ETHERNET, 123_456_789, "-F", "pcapng", "-N", "eth0")
    run("editcap", "--discard-capture-comment", "--capture-comment", "first comment",
        "--capture-comment", "second comment", "plain.pcapng", "eth.pcapng")
    (HERE / "plain.pcapng").unlink()
    run("editcap", "-F", "pcap", "eth.pcapng", "eth.pcap")
    run("editcap", "-F", "nsecpcap", "eth.pcapng", "eth-ns.pcap")
    run("editcap", "-F", "pcap", "-s", "64", "eth.pcapng", "eth-cut.pcap")
    text2pcap("raw.pcap", [IPV4, IPV6], 5_500_000_000, "-F", "pcap", "-l", "101")
    text2pcap("ipv4.pcap", [IPV4], 6_250_000_000, "-F", "pcap", "-l", "228")
    text2pcap("sll.pcap", [SLL + IPV4], 7_000_000_000, "-F", "pcap", "-l", "113")
    text2pcap("sll2.pcap", [SLL2 + IPV4], 8_000_000_000, "-F", "pcap", "-l", "276")
    run("mergecap", "-F", "pcapng", "-w", "eth+raw.pcapng", "eth.pcap", "raw.pcap")
    run("mergecap", "-F", "pcapng", "-w", "eth+sll2.pcapng", "eth.pcapng", "sll2.pcap")
    gzip("eth.pcap")
    gzip("eth+sll2.pcapng")


if __name__ == "__main__":
    main()
