"""What `protolab new NAME` writes: a small working lab and a pytest file beside it.

The lab (one ping by hand) passes its own test as written, so an author starts
from something that runs and changes it one part at a time (docs/authoring.md).
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

from ..errors import LabError

NAME_RULE = re.compile(r"[a-z][a-z0-9_]{0,39}")

LAB_TEMPLATE = '''"""__NAME__: one ICMP echo request by hand (the skeleton `protolab new` writes; see docs/authoring.md)."""

from __future__ import annotations

from scapy.layers.inet import ICMP, IP

from protolab.expect import Check, Expectation, F, Fact, Never, SentBy, Step
from protolab.lab.api import Lab, LabContext, Range

INSTRUCTIONS = """\\
An ICMP echo request ("ping") asks a machine to answer with an echo reply.

Your task: write `ping(client, server_ip, ttl)` that sends one echo request
to server_ip with the IP TTL `ttl` and returns the source address of the
answer (None if nothing answered).
  - client.sr1(pkt, timeout=1.0) sends an IP packet and returns its answer.
  - Build the packet with scapy: `from scapy.layers.inet import IP, ICMP`,
    then IP(dst=server_ip, ttl=ttl) / ICMP(id=..., seq=...).

    protolab run __NAME__ --solution my___NAME__.py
"""


def ping(client, server_ip: str, ttl: int):
    """The student's function (found by this name); its body is the reference solution."""
    answer = client.sr1(IP(dst=server_ip, ttl=ttl) / ICMP(id=0x5eed, seq=1), timeout=1.0)
    return answer[IP].src if answer is not None else None


def procedure(ctx: LabContext) -> None:
    """Set the stage, call the student's function (confined, in its node), report facts."""
    web = ctx.ip("web")
    ctx.say(f"client: your ping() asks {web}")
    ctx.fact("answered_by", ctx.call_student(ctx.host("client"), web, ctx.params["ttl"]))


def expectation(topology, params) -> Expectation:
    """What the capture (and the facts) must show, built from the topology and the parameters."""
    client, web = str(topology.node("client").ip), str(topology.node("web").ip)
    return Expectation(
        name="one ping by hand",
        steps=(
            Step("echo request to web", match=(SentBy("client"), F("ip.dst") == web, F("icmp.type") == 8),
                 checks=(Check(F("ip.ttl") == params["ttl"], f"the request leaves with TTL {params['ttl']}"),),
                 hint=f"Send an ICMP echo request (type 8) to web, {web}."),
            Step("echo reply from web", match=(SentBy("web"), F("ip.src") == web, F("ip.dst") == client,
                                               F("icmp.type") == 0)),
        ),
        never=(Never("no ICMP error", match=(F("icmp.type") == 3,), why="Something on the way could not deliver a packet."),),
        facts=(Check(Fact("answered_by") == web, "your ping() returns the address that answered: web's"),),
    )


LAB = Lab(
    name="__NAME__",
    title="One ping by hand",
    summary="Send one ICMP echo request by hand and report who answered",
    instructions=INSTRUCTIONS,
    student=ping,
    procedure=procedure,
    expectation=expectation,
    columns=("client", "router", "web"),
    params={"ttl": 64},
    limits={"ttl": Range(2, 255, note="1 dies at the router")},
    facts={"answered_by": "the address your ping() returned"},
    timeout=3.0,
)
'''

TEST_TEMPLATE = '''"""Tests of the __NAME__ lab: the reference passes, a wrong solution is explained (run as root: pytest)."""

from __future__ import annotations

import re
from pathlib import Path

from protolab.testing import explain, item, needs_root, run_lab_file

LAB_FILE = Path(__file__).with_name("__NAME__.py")

ASKS_THE_ROUTER = """
from scapy.layers.inet import ICMP, IP


def ping(client, server_ip, ttl):
    answer = client.sr1(IP(dst=client.gateway, ttl=ttl) / ICMP(id=7, seq=1), timeout=1.0)
    return answer[IP].src if answer is not None else None
"""


@needs_root
def test_the_reference_passes(tmp_path):
    result = run_lab_file(LAB_FILE, out_dir=tmp_path)
    assert result.verdict.status.value == "PASS", explain(result.verdict)
    assert result.facts["answered_by"] == "10.0.2.80"


@needs_root
def test_pinging_the_router_is_explained(tmp_path):
    solution = tmp_path / "asks_the_router.py"
    solution.write_text(ASKS_THE_ROUTER)
    result = run_lab_file(LAB_FILE, solution, out_dir=tmp_path / "run")
    assert result.verdict.status.value == "FAIL"
    request = item(result.verdict, "echo request to web")  # found by its match: the nearest frame explains it
    assert re.search(r"closest is frame #\\d+ .*ip.dst is '?10.0.1.1'?, expected '?10.0.2.80'?", request.messages[0]), \\
        explain(result.verdict)
    returned = item(result.verdict, "your ping() returns the address that answered: web's")
    assert re.fullmatch(r"answered_by is '?10.0.1.1'?, expected '?10.0.2.80'?", returned.messages[0])
'''


class SkeletonError(LabError):
    """`protolab new` cannot write the lab (a bad name, a file already there)."""


def lab_text(name: str) -> str:
    return LAB_TEMPLATE.replace("__NAME__", name)


def test_text(name: str) -> str:
    return TEST_TEMPLATE.replace("__NAME__", name)


def check_name(name: str) -> None:
    """A lab name is a lowercase Python identifier (it names a module), not test_…, not a keyword."""
    if not NAME_RULE.fullmatch(name) or keyword.iskeyword(name) or name.startswith("test_"):
        raise SkeletonError(f"'{name}' is not a lab name: use lowercase letters, digits and _ (starting with a "
                            "letter, at most 40, not test_…), e.g. udp_echo")


def write_skeleton(name: str, folder: Path) -> tuple[Path, Path]:
    """Write FOLDER/NAME.py and FOLDER/test_NAME.py; refuse a bad name or a file that exists."""
    check_name(name)
    lab, test = folder / f"{name}.py", folder / f"test_{name}.py"
    for path in (lab, test):
        if path.exists():
            raise SkeletonError(f"{path} already exists: choose another name (nothing was written)")
    if folder.exists() and not folder.is_dir():
        raise SkeletonError(f"--dir {folder}: exists and is not a directory")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(lab, "x", encoding="utf-8") as f:
            f.write(lab_text(name))
        with open(test, "x", encoding="utf-8") as f:
            f.write(test_text(name))
    except OSError as exc:
        raise SkeletonError(f"cannot write the lab in {folder}: {exc.strerror or exc}") from None
    return lab, test
