"""Hangs in the call, with a child process hanging too (for the kill-the-grader test)."""
import os
import time


def connect(client, server_ip, server_port, client_port):
    os.fork()
    while True:
        time.sleep(0.05)
