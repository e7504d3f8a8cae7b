"""The seccomp filter a student's process runs under: the system calls it may not make.

Everything else is allowed (a student's code is ordinary Python with sockets);
these are refused with EPERM because they would let it leave its namespaces,
look into other processes, change the kernel or the machine. clone3 answers
ENOSYS so that the C library falls back to clone, whose flags the filter can
read (clone3 passes them in memory, out of a filter's sight).
"""

from __future__ import annotations

import errno

import pyseccomp as seccomp

from .linux import NAMESPACE_FLAGS

DENIED = (
    # leaving or making namespaces, changing what is mounted
    "setns", "unshare", "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree",
    "fsopen", "fsmount", "fsconfig", "fspick", "mount_setattr",
    # other processes' memory and the kernel's tracing machinery
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "perf_event_open",
    "bpf", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    # the machine itself
    "kexec_load", "kexec_file_load", "reboot", "init_module", "finit_module", "delete_module",
    "swapon", "swapoff", "acct", "quotactl", "syslog", "settimeofday", "clock_settime",
    "clock_adjtime", "adjtimex", "sethostname", "setdomainname", "iopl", "ioperm",
    "open_by_handle_at", "name_to_handle_at", "lookup_dcookie", "fanotify_init",
    "keyctl", "add_key", "request_key", "personality", "vhangup", "nfsservctl",
)


def install_filter() -> None:
    """Load the filter into this thread (and every thread and process it starts)."""
    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    refuse = seccomp.ERRNO(errno.EPERM)
    for name in DENIED:
        try:
            rules.add_rule(refuse, name)
        except (ValueError, RuntimeError, OSError):
            pass  # a call this architecture does not have (e.g. iopl on arm64)
    flag = 1
    while flag <= NAMESPACE_FLAGS:
        if flag & NAMESPACE_FLAGS:
            rules.add_rule(refuse, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
        flag <<= 1
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    rules.load()
