"""Baseline eight-ball servers for bench/network.py, speaking the same protocol as ours.

    python baseline_servers.py eight-ball PORT          the original module's architecture: one
                                                        blocking, single-threaded accept loop
    python baseline_servers.py asyncio-eight-ball PORT  a bare asyncio server: banner, one
                                                        line, answer, close; nothing else
    python baseline_servers.py uvloop-eight-ball PORT   the same on uvloop

No sleeps are added (the original 8-ball slept 3-6 s before answering, which would make any
comparison meaningless). The bare event-loop servers have no timers, no graceful close and no
console: the upper bound of what one process can do, which ours is measured against.
"""

from __future__ import annotations

import asyncio
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


async def _bare_session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        writer.write(BANNER)
        question = await reader.readline()
        writer.write(FLAG if b"flag" in question.lower() else b"Ask again later.\n")
        await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def _bare_server(port: int) -> None:
    server = await asyncio.start_server(
        _bare_session, "127.0.0.1", port, reuse_address=True, backlog=4096
    )
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "eight-ball":
        eight_ball(port)
    elif kind == "asyncio-eight-ball":
        asyncio.run(_bare_server(port))
    elif kind == "uvloop-eight-ball":
        import uvloop

        uvloop.run(_bare_server(port))
    else:
        raise SystemExit(f"unknown baseline {kind}")
