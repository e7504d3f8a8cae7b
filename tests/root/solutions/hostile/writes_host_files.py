"""Tries to write files on the grader's machine: a marker, the package, the labs, the ledger."""
import os

TARGETS = {TARGETS}


def connect(client, server_ip, server_port, client_port):
    for path in TARGETS:
        try:
            with open(path, "a") as f:
                f.write("written by a student\n")
            print("WROTE", path)
        except OSError as exc:
            print("refused", path, exc.strerror)
    return 0, 0
