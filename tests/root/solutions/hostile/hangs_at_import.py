"""Never finishes importing."""
while True:
    pass


def connect(client, server_ip, server_port, client_port):
    return 0, 0
