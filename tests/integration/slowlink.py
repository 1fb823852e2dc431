#!/usr/bin/env python3
"""slowlink.py — a TCP relay that carries a worker's bytes to the daemon
at a set rate, as a slow network would, so that a test can act while a
large message is on its way (standard library only).

  slowlink.py HOST:PORT BYTES_PER_S

Listens on 127.0.0.1, an ephemeral port it prints first (one line), and
relays every connection it accepts to HOST:PORT: towards HOST:PORT at
BYTES_PER_S at most, back at full speed. Runs until killed.
"""
import socket
import sys
import threading
import time

CHUNK = 16384


def pump(src, dst, rate):
    """Each chunk waits for its time on the line: an idle spell earns no
    burst afterwards."""
    try:
        while True:
            data = src.recv(CHUNK)
            if not data:
                break
            dst.sendall(data)
            if rate:
                time.sleep(len(data) / rate)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def relay(client, target, rate):
    host, port = target.rsplit(":", 1)
    try:
        server = socket.create_connection((host, int(port)))
    except OSError:
        client.close()
        return
    threading.Thread(target=pump, args=(client, server, rate), daemon=True).start()
    threading.Thread(target=pump, args=(server, client, 0), daemon=True).start()


def main():
    target, rate = sys.argv[1], float(sys.argv[2])
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    print(ls.getsockname()[1], flush=True)
    while True:
        client, _ = ls.accept()
        relay(client, target, rate)


if __name__ == "__main__":
    main()
