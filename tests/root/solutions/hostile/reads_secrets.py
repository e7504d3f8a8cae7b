"""Tries to read the machine's secrets and the reference solution."""
import os


def connect(client, server_ip, server_port, client_port):
    for path in ["/etc/shadow", "/root/.bash_history", "{LABS}/handshake.py", "/run/netns", "/run/protolab"]:
        try:
            if os.path.isdir(path):
                print("LISTED", path, os.listdir(path))
            else:
                print("READ", path, open(path).read()[:80].replace("\n", " "))
        except OSError as exc:
            print("refused", path, exc.strerror)
    found = []
    for top in sorted(set(os.listdir("/")) - {"proc", "sys", "dev", "usr", "lib", "lib64", "bin", "sbin"}):
        for folder, _, files in os.walk("/" + top):
            found += [os.path.join(folder, f) for f in files if f == "handshake.py" and "labs" in folder]
    print("labs found:", found)
    return 0, 0
