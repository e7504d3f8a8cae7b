"""Spins on the CPU in four threads (the wall-clock limit is set high by the test)."""
import threading


def spin():
    while True:
        pass


def connect(client, server_ip, server_port, client_port):
    for _ in range(3):
        threading.Thread(target=spin, daemon=True).start()
    spin()
