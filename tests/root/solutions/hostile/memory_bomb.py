"""Asks for 20 GB of memory."""


def connect(client, server_ip, server_port, client_port):
    blocks = []
    for _ in range(20 * 1024):
        blocks.append(bytearray(1024 * 1024))
    return len(blocks), 0
