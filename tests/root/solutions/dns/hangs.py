"""Never returns (waits forever for an answer it never asked for)."""
import time


def resolve(client, root_ip, name, qtype="A"):
    time.sleep(60)
