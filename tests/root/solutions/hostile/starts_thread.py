"""Starts a non-daemon thread at import that never ends, then returns at once."""
import threading
import time


def spin():
    while True:
        time.sleep(0.01)


threading.Thread(target=spin).start()


def connect(client, server_ip, server_port, client_port):
    return 0, 0
