def connect(client, server_ip, server_port, client_port)
    pass
