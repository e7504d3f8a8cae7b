"""Forks children that close their descriptors, change session and keep running."""
import os
import time


def connect(client, server_ip, server_port, client_port):
    for _ in range(3):
        if os.fork() == 0:
            os.setsid()
            os.closerange(0, 256)
            while True:
                time.sleep(0.05)
    return 0, 0
