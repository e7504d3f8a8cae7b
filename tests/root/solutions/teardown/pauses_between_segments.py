"""Right, but slow: a student thinking (or printing) for a second before every segment sent."""
import time

from scapy.layers.inet import IP, TCP

PAUSE = 1.0


def send_and_close(client, conn, data, closer):
    seq, ack = conn.seq, conn.ack

    def send(flags, payload=b""):
        time.sleep(PAUSE)
        print(f"sending {flags} seq={seq} ack={ack}")
        segment = IP(dst=conn.dst) / TCP(sport=conn.sport, dport=conn.dport, flags=flags, seq=seq, ack=ack)
        client.send(segment / payload if payload else segment)

    def wait(flags, acking=None):
        def match(f):
            return (TCP in f and f[TCP].sport == conn.dport and f[TCP].dport == conn.sport
                    and set(flags) <= set(str(f[TCP].flags)) and (acking is None or f[TCP].ack == acking))
        frame = client.recv(match, timeout=1.0)
        if frame is None:
            raise RuntimeError(f"nothing with flags {flags} from web")
        return frame[TCP]

    send("PA", data)
    seq = (seq + len(data)) % 2**32
    reply = wait("A", acking=seq)
    if closer == "client":
        send("FA")
        seq = (seq + 1) % 2**32
        reply = wait("A", acking=seq)
        fin = reply if "F" in str(reply.flags) else wait("F")
        ack = (fin.seq + 1) % 2**32
        send("A")
    else:
        fin = reply if "F" in str(reply.flags) else wait("F")
        ack = (fin.seq + 1) % 2**32
        send("A")
        send("FA")
        seq = (seq + 1) % 2**32
        wait("A", acking=seq)
