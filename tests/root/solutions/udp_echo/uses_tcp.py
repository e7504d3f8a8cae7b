"""Talks to the echo service over a kernel TCP connection instead of hand-made datagrams."""


def echo(client, server_ip, port, closed_port, client_port, messages):
    echoes = []
    for message in messages:
        with client.tcp_socket(server_ip, port) as sock:
            sock.setblocking(True)
            sock.sendall(message)
            echoes.append(sock.recv(1024))
    return echoes
