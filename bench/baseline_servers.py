"""Baselines written like the original module: one blocking, single-threaded accept loop.

Run as `python baseline_servers.py eight-ball PORT`. No sleeps are added (the original 8-ball
slept 3-6 s before answering, which would make any comparison meaningless); what remains is the
architecture: one client at a time, blocking reads.
"""

from __future__ import annotations

import socket
import sys

BANNER = b"Welcome to the magic 8-ball. Ask me a yes-or-no question?\n"
FLAG = b"sockdojo{baseline-flag-000000000000000}\n"


def eight_ball(port: int) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(4096)
    while True:
        conn, _ = server.accept()
        try:
            conn.sendall(BANNER)
            question = conn.recv(1024)
            conn.sendall(FLAG if b"flag" in question.lower() else b"Ask again later.\n")
        except OSError:
            pass
        finally:
            conn.close()


if __name__ == "__main__":
    eight_ball(int(sys.argv[2]))
