"""Tries to reach a listener on the grader machine's own loopback (and any address outside the lab)."""
import socket


def connect(client, server_ip, server_port, client_port):
    for host in ("127.0.0.1", "{HOST_IP}"):
        try:
            with socket.create_connection((host, {PORT}), timeout=0.3) as s:
                s.sendall(b"escaped")
                print("CONNECTED", host)
        except OSError as exc:
            print("refused", host, exc)
    return 0, 0
