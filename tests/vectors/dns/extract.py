"""Rebuild the DNS vectors of this folder from captures of `protolab run dns`.

    for case in "www.example.lab A" "www.shop.lab A" "alias.example.lab A" \\
                "nothere.example.lab A" "big.example.lab TXT"; do
        set -- $case
        protolab run dns --fresh -q --set name=$1 --set qtype=$2 --out runs/$1
    done
    python tests/vectors/dns/extract.py runs/www.example.lab/trace.pcapng runs/www.shop.lab/trace.pcapng \\
        runs/alias.example.lab/trace.pcapng runs/nothere.example.lab/trace.pcapng runs/big.example.lab/trace.pcapng

responses.json: every response an authoritative server (NSD) sent to the
client's hand-made questions — server, question, transport and the DNS
message as hex (without the TCP length prefix). frames.json: a few whole
Ethernet frames, one of each kind, for the decoder.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from protolab.capture import read_pcapng
from protolab.wire.decode import decode_layers

HERE = Path(__file__).parent
CLIENT = "10.0.1.10"
SERVERS = {"10.0.2.11", "10.0.2.12", "10.0.2.13"}


def main(pcaps: list[str]) -> None:
    responses: dict[tuple, dict] = {}
    frames: dict[str, str] = {}
    for pcap in pcaps:
        for link, _, _, data in read_pcapng(Path(pcap)):
            if link != "lan1":
                continue  # each frame once: as the client's LAN saw it
            layers = decode_layers(data)
            message = layers.get("dns")
            if message is None:
                continue
            transport = layers[message["transport"]]
            payload = transport["payload"][2:] if message["transport"] == "tcp" else transport["payload"]
            kind = _kind(layers)
            if kind and kind not in frames:
                frames[kind] = data.hex()
            if message["qr"] and layers["ip"]["src"] in SERVERS and layers["ip"]["dst"] == CLIENT:
                key = (layers["ip"]["src"], message["qname"], message["qtype"], message["transport"])
                responses[key] = {"server": key[0], "qname": key[1], "qtype": key[2], "transport": key[3], "wire": payload.hex()}
    (HERE / "responses.json").write_text(json.dumps(sorted(responses.values(), key=lambda r: tuple(r.values())), indent=1) + "\n")
    (HERE / "frames.json").write_text(json.dumps(dict(sorted(frames.items())), indent=1) + "\n")
    print(f"{len(responses)} responses, {len(frames)} frames")


def _kind(layers) -> str | None:
    m = layers["dns"]
    if not m["qr"]:
        return "query_tcp" if m["transport"] == "tcp" else "query_udp_rd" if m["rd"] else "query_udp"
    if m["transport"] == "tcp":
        return "answer_tcp"
    if m["tc"]:
        return "truncated"
    if m["rcode"] == "NXDOMAIN":
        return "nxdomain"
    if m["ra"]:
        return "resolver_answer"
    if m["aa"]:
        return "cname_answer" if any(r[1] == "CNAME" for r in m["answers"]) else "answer"
    return "referral_glue" if m["additional"] else "referral_no_glue"


if __name__ == "__main__":
    main(sys.argv[1:])
