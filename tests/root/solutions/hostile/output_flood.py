"""Prints 100 MB."""
import sys


def connect(client, server_ip, server_port, client_port):
    line = "x" * 1023 + "\n"
    for _ in range(100 * 1024):
        sys.stdout.write(line)
    return 0, 0
