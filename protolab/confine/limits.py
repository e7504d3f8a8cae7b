"""What a student's code may use: memory, CPU, processes, files, output, capabilities."""

from __future__ import annotations

import resource
from dataclasses import asdict, dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Per call of the student's function. A lab may change them (Lab.limits)."""

    memory: int = 512 * MIB  # bytes of data (heap, anonymous mappings, thread stacks)
    cpu_seconds: int = 0  # CPU time; 0: the call's time limit, rounded up, plus one second
    processes: int = 64  # processes and threads together
    file_size: int = 16 * MIB  # largest file it may write (in its scratch directory)
    open_files: int = 256
    scratch: int = 64 * MIB  # size of its private writable directory
    output: int = 64 * 1024  # stdout and stderr bytes kept; the rest is counted and dropped
    capabilities: tuple[str, ...] = ("CAP_NET_RAW",)  # raw sockets in its node; nothing else

    def cpu_limit(self, timeout: float) -> int:
        return self.cpu_seconds or int(timeout) + 2

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Limits:
        fields = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items()}
        return cls(**fields)


def apply_rlimits(limits: Limits, timeout: float) -> None:
    """Set the kernel's resource limits for this process and what it starts."""
    cpu = limits.cpu_limit(timeout)
    settings = {
        resource.RLIMIT_DATA: limits.memory,
        resource.RLIMIT_AS: limits.memory + 1024 * MIB,  # address space: a backstop for mappings DATA misses
        resource.RLIMIT_CPU: (cpu, cpu + 1),  # soft: SIGXCPU; hard: SIGKILL one second later
        resource.RLIMIT_NPROC: limits.processes,
        resource.RLIMIT_FSIZE: limits.file_size,
        resource.RLIMIT_NOFILE: limits.open_files,
        resource.RLIMIT_CORE: 0,
        resource.RLIMIT_MEMLOCK: 0,
        resource.RLIMIT_MSGQUEUE: 0,
    }
    for which, value in settings.items():
        soft, hard = value if isinstance(value, tuple) else (value, value)
        resource.setrlimit(which, (soft, hard))
