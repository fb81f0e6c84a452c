# Learners' servers that read in odd ways: slowly, late, in one blocking call, through a
# buffered file, asyncio or socketserver, after a reply, after ending their own side. Each
# one-shot mode prints what it read (repr) before it exits, so a test can tell whether it got
# the whole message. Usage: hostile_server.py MODE PORT [ARG]
import asyncio
import socket
import socketserver
import struct
import sys
import time

mode, port = sys.argv[1], int(sys.argv[2])
arg = sys.argv[3] if len(sys.argv) > 3 else ""
address = ("127.0.0.1", port)


def listener(rcvbuf: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind(address)
    sock.listen()
    return sock


def read_all(conn: socket.socket, size: int = 1024, pause: float = 0.0) -> bytes:
    data = b""
    for _ in range(100_000):
        chunk = conn.recv(size)
        if not chunk:
            break
        data += chunk
        time.sleep(pause)
    return data


def reset(conn: socket.socket) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def done(data: bytes) -> None:
    print(repr(data), flush=True)


if mode == "byte-by-byte":  # recv(1) with ARG ms between reads, until the end of stream
    conn, _ = listener().accept()
    done(read_all(conn, 1, int(arg or 5) / 1000))
    conn.close()
elif mode == "late-read":  # accepts at once, reads everything only ARG ms later
    conn, _ = listener().accept()
    time.sleep(int(arg) / 1000)
    done(read_all(conn))
    conn.close()
elif mode == "late-accept":  # accepts ARG ms late, then reads everything
    sock = listener()
    time.sleep(int(arg) / 1000)
    conn, _ = sock.accept()
    done(read_all(conn))
    conn.close()
elif mode == "waitall":  # one recv(4096, MSG_WAITALL): returns at 4096 bytes or end of stream
    conn, _ = listener().accept()
    done(conn.recv(4096, socket.MSG_WAITALL))
    conn.close()
elif mode == "makefile":  # conn.makefile("rb").read(): until the end of stream
    conn, _ = listener().accept()
    with conn.makefile("rb") as stream:
        done(stream.read())
    conn.close()
elif mode == "makefile-line":  # conn.makefile("rb").readline()
    conn, _ = listener().accept()
    with conn.makefile("rb") as stream:
        done(stream.readline())
    conn.close()
elif mode in ("asyncio-read", "asyncio-readline"):

    async def main() -> None:
        finished = asyncio.Event()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            data = await (reader.read() if mode == "asyncio-read" else reader.readline())
            done(data)
            writer.close()
            await writer.wait_closed()
            finished.set()

        server = await asyncio.start_server(handle, *address, reuse_address=True)
        async with server:
            await finished.wait()

    asyncio.run(main())
elif mode in ("socketserver-read", "socketserver-line"):

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            done(self.rfile.read() if mode == "socketserver-read" else self.rfile.readline())

    socketserver.TCPServer.allow_reuse_address = True
    with socketserver.TCPServer(address, Handler) as server:
        server.handle_request()
elif mode == "reply-first":  # sends ARG KiB before it reads anything, then reads everything
    conn, _ = listener().accept()
    conn.sendall(b"x" * (int(arg) * 1024))
    done(read_all(conn))
    conn.close()
elif mode == "half-close-slow":  # ends its side, then reads a byte every ARG ms to the end
    conn, _ = listener().accept()
    conn.shutdown(socket.SHUT_WR)
    done(read_all(conn, 1, int(arg or 5) / 1000))
    conn.close()
elif mode == "half-close-late-read":  # ends its side, ARG ms later reads everything
    conn, _ = listener().accept()
    conn.shutdown(socket.SHUT_WR)
    time.sleep(int(arg) / 1000)
    done(read_all(conn))
    conn.close()
elif mode == "late-half-close":  # ends its side ARG ms after accepting, closes 50 ms later
    # without reading
    conn, _ = listener().accept()
    time.sleep(int(arg) / 1000)
    conn.shutdown(socket.SHUT_WR)
    time.sleep(0.05)
    conn.close()
elif mode == "half-then-shut":  # reads 10 bytes, ends its side, closes ARG ms later
    conn, _ = listener().accept()
    done(conn.recv(10))
    conn.shutdown(socket.SHUT_WR)
    time.sleep(int(arg) / 1000)
    conn.close()
elif mode == "late-accept-few-reset":  # accepts ARG ms late, reads 5 bytes, resets, stays up
    sock = listener()
    time.sleep(int(arg) / 1000)
    conn, _ = sock.accept()
    done(conn.recv(5))
    reset(conn)
    time.sleep(3)
elif mode == "late-accept-few-reset-exit":  # the same, and exits at once (listener gone)
    sock = listener()
    time.sleep(int(arg) / 1000)
    conn, _ = sock.accept()
    done(conn.recv(5))
    reset(conn)
elif mode == "late-accept-shut-listener-few-reset":  # accepts ARG ms late, closes its
    # listener at once (a one-shot server), reads 5 bytes, resets
    sock = listener()
    time.sleep(int(arg) / 1000)
    conn, _ = sock.accept()
    sock.close()
    done(conn.recv(5))
    reset(conn)
    time.sleep(1)
elif mode == "lowat-select":  # SO_RCVLOWAT 4096 and select(): readable only at the end
    import select

    conn, _ = listener().accept()
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, 4096)
    select.select([conn], [], [], 5)
    done(read_all(conn))
    conn.close()
elif mode == "lowat-select-loop":  # the same on every connection, for ever
    import select

    sock = listener()
    while True:
        conn, _ = sock.accept()
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, 4096)
        select.select([conn], [], [], 5)
        done(read_all(conn))
        conn.close()
elif mode == "peek-waitall":  # peeks with MSG_WAITALL until the end of stream, then reads
    conn, _ = listener().accept()
    conn.recv(4096, socket.MSG_PEEK | socket.MSG_WAITALL)
    done(read_all(conn))
    conn.close()
elif mode == "tiny-rcvbuf":  # SO_RCVBUF as small as it goes, reads 1 byte every ARG ms
    conn, _ = listener(rcvbuf=1).accept()
    done(read_all(conn, 1, int(arg or 1) / 1000))
    conn.close()
elif mode == "read-exact-close":  # one recv(1024), closes without waiting for the end
    conn, _ = listener().accept()
    done(conn.recv(1024))
    conn.close()
elif mode == "read-reply-close":  # reads to the end, answers, closes
    conn, _ = listener().accept()
    data = read_all(conn)
    conn.sendall(b"thanks\n")
    done(data)
    conn.close()
elif mode == "read-line-reset":  # reads one line (all of it), resets instead of closing
    conn, _ = listener().accept()
    with conn.makefile("rb") as stream:
        done(stream.readline())
    reset(conn)
elif mode == "peek-close":  # looks with MSG_PEEK, never reads, closes
    conn, _ = listener().accept()
    time.sleep(0.05)
    done(conn.recv(1024, socket.MSG_PEEK))
    conn.close()
elif mode == "short-close":  # reads all but the last byte, closes
    conn, _ = listener().accept()
    data = b""
    for _ in range(1000):
        if len(data) >= int(arg) - 1:
            break
        data += conn.recv(int(arg) - 1 - len(data))
    done(data)
    conn.close()
elif mode == "shut-rd-close":  # shutdown(SHUT_RD) and close without reading
    conn, _ = listener().accept()
    conn.shutdown(socket.SHUT_RD)
    time.sleep(0.05)
    conn.close()
elif mode == "alternate-loop":  # connection n: good (reads all) if ARG[n % len] is "g", else
    # ends its side and closes 30 ms later without reading
    sock = listener()
    count = 0
    while True:
        conn, _ = sock.accept()
        good = arg[count % len(arg)] == "g"
        count += 1
        if good:
            done(read_all(conn))
        else:
            conn.shutdown(socket.SHUT_WR)
            time.sleep(0.03)
        conn.close()
elif mode == "half-then-shut-loop":  # each connection: reads 10 bytes, ends its side, closes
    sock = listener()
    while True:
        conn, _ = sock.accept()
        conn.recv(10)
        conn.shutdown(socket.SHUT_WR)
        time.sleep(int(arg) / 1000)
        conn.close()
elif mode == "waitall-loop":  # each connection: one recv(4096, MSG_WAITALL)
    sock = listener()
    while True:
        conn, _ = sock.accept()
        done(conn.recv(4096, socket.MSG_WAITALL))
        conn.close()
elif mode == "byte-loop":  # each connection: recv(1) every ARG ms until the end of stream
    sock = listener()
    while True:
        conn, _ = sock.accept()
        done(read_all(conn, 1, int(arg or 5) / 1000))
        conn.close()
else:
    raise SystemExit(f"unknown mode {mode}")
