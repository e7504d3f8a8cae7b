"""Offline check of a 100,000-frame capture, beside `tshark -r FILE -q` on the same file.

Writes a pcap of N TCP segments between the lab's client and web (handshake,
then data segments both ways, each 66-130 bytes on the wire), then times, each
in a process of its own so peak memory (ru_maxrss) is the process's own:

  - protolab: `check_capture(handshake, FILE)`: read, decode, verdict;
  - tshark:   `tshark -r FILE -q` (reads and dissects every frame, prints nothing).

Prints frames per second, wall time and peak RSS of each, and their ratio.
Needs no root (nothing is sent anywhere): python bench/bench_check.py [--frames N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

CHILD = """
import json, resource, sys, time
start = time.perf_counter()
from protolab.lab.catalog import load_lab
from protolab.lab.offline import check_capture
lab = load_lab("handshake")
imported = time.perf_counter()
result = check_capture(lab, sys.argv[1], {})
end = time.perf_counter()
print(json.dumps({"wall": end - start, "check": end - imported, "frames": len(result.trace),
                  "status": result.verdict.status.value,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

# tshark in a process of its own, which reports tshark's peak RSS (its only child) and wall time
TSHARK = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
subprocess.run(["tshark", "-r", sys.argv[1], "-q"], capture_output=True, check=True)
wall = time.perf_counter() - start
print(json.dumps([wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024]))
"""


def write_capture(path: Path, count: int) -> None:
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    from scapy.utils import PcapWriter

    from protolab.topology import load

    topo = load()
    client, router, web = topo.node("client"), topo.node("router"), topo.node("web")
    out = Ether(src=client.mac, dst=router.interfaces[0].mac) / IP(src=str(client.ip), dst=str(web.ip))
    back = Ether(src=router.interfaces[0].mac, dst=client.mac) / IP(src=str(web.ip), dst=str(client.ip), ttl=63)
    isn, sisn = 1000, 5000
    packets = [out / TCP(sport=40000, dport=80, flags="S", seq=isn),
               back / TCP(sport=80, dport=40000, flags="SA", seq=sisn, ack=isn + 1),
               out / TCP(sport=40000, dport=80, flags="A", seq=isn + 1, ack=sisn + 1)]
    seq = isn + 1
    for i in range(count - len(packets)):  # 64 bytes of data, then its ACK, and so on
        if i % 2 == 0:
            packets.append(out / TCP(sport=40000, dport=80, flags="PA", seq=seq, ack=sisn + 1) / (b"x" * 64))
            seq += 64
        else:
            packets.append(back / TCP(sport=80, dport=40000, flags="A", seq=sisn + 1, ack=seq))
    with PcapWriter(str(path), linktype=1, sync=False) as writer:
        for i, packet in enumerate(packets):
            packet.time = 1_700_000_000 + i * 1e-5
            writer.write(packet)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.pcap"
        write_capture(path, args.frames)
        size = path.stat().st_size
        ours, theirs, rss_ours, rss_tshark = [], [], [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True,
                                 cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
            wall = time.perf_counter() - start
            result = json.loads(out.stdout)
            ours.append(wall)
            rss_ours.append(result["rss_mb"])
            out = subprocess.run([sys.executable, "-c", TSHARK, str(path)], capture_output=True, text=True, check=True)
            wall, rss = json.loads(out.stdout)
            theirs.append(wall)
            rss_tshark.append(rss)
        n = result["frames"]
        ours_m, theirs_m = statistics.median(ours), statistics.median(theirs)
        print(f"capture: {n:,} frames, {size / 1e6:.1f} MB (pcap, Ethernet); load {os.getloadavg()[0]:.2f}; "
              f"{args.repeat} runs each, median")
        print(f"  protolab check  {ours_m:7.2f} s  {n / ours_m:9,.0f} frames/s  peak RSS {max(rss_ours):6.0f} MiB  "
              f"(verdict {result['status']}; min {min(ours):.2f} max {max(ours):.2f})")
        print(f"  tshark -r -q    {theirs_m:7.2f} s  {n / theirs_m:9,.0f} frames/s  peak RSS {max(rss_tshark):6.0f} MiB  "
              f"(min {min(theirs):.2f} max {max(theirs):.2f})")
        print(f"  ratio: protolab takes {ours_m / theirs_m:.1f}x tshark's time, {max(rss_ours) / max(rss_tshark):.1f}x its memory")


if __name__ == "__main__":
    main()
