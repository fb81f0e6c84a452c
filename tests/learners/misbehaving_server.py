# Servers that go wrong the way learners' servers do, at the worst moment, with no sleeps to
# make the race polite. Usage: misbehaving_server.py MODE PORT [ARG]
import random
import socket
import struct
import sys
import time

mode, port = sys.argv[1], int(sys.argv[2])
arg = sys.argv[3] if len(sys.argv) > 3 else ""
address = ("127.0.0.1", port)


def listener() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.listen()
    return sock


def read_all(conn: socket.socket) -> bytes:
    data = b""
    while chunk := conn.recv(1024):
        data += chunk
    return data


def reset(conn: socket.socket) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


if mode == "close-at-once":  # accept, close at once, exit
    conn, _ = listener().accept()
    conn.close()
elif mode == "close-at-once-loop":  # the same, for ever
    sock = listener()
    while True:
        conn, _ = sock.accept()
        conn.close()
elif mode == "once":  # a correct one-shot server (restarted by a shell loop in the tests)
    conn, _ = listener().accept()
    print(read_all(conn).decode(), flush=True)
    conn.close()
elif mode == "read-few":  # read a few bytes, close, exit
    conn, _ = listener().accept()
    print(conn.recv(int(arg or 5)))
    conn.close()
elif mode == "reset":  # accept and reset
    conn, _ = listener().accept()
    reset(conn)
elif mode == "recv-on-listener":  # recv() on the listening socket: ENOTCONN, the program dies
    sock = listener()
    conn, _ = sock.accept()
    print(sock.recv(1024))
elif mode == "bind-only":  # bind, never listen, stay alive
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(address)
    print("bound", flush=True)
    time.sleep(60)
elif mode == "bind-then-accept":  # no listen(): accept() dies with EINVAL
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(address)
    sock.accept()
elif mode == "udp":  # a UDP server
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(address)
    print("udp", flush=True)
    while True:
        print(sock.recvfrom(1024))
elif mode == "crash-on-second":  # a loop whose body fails on the second connection
    sock = listener()
    count = 0
    while True:
        conn, _ = sock.accept()
        count += 1
        if count == 2:
            raise RuntimeError("the learner's bug")
        print(read_all(conn).decode(), flush=True)
        conn.close()
elif mode == "read-then-reset":  # a loop that reads the first connection, resets the next
    sock = listener()
    conn, _ = sock.accept()
    print(read_all(conn).decode(), flush=True)
    conn.close()
    while True:
        conn, _ = sock.accept()
        reset(conn)
elif mode == "half-close":  # ends its side first, then reads everything
    conn, _ = listener().accept()
    conn.shutdown(socket.SHUT_WR)
    print(read_all(conn).decode(), flush=True)
    conn.close()
elif mode == "half-close-late":  # ends its side first, then closes ARG ms later, never reads
    conn, _ = listener().accept()
    conn.shutdown(socket.SHUT_WR)
    time.sleep(int(arg or 50) / 1000)
    conn.close()
elif mode == "half-close-loop":  # the same on every connection, for ever
    sock = listener()
    while True:
        conn, _ = sock.accept()
        conn.shutdown(socket.SHUT_WR)
        time.sleep(int(arg or 50) / 1000)
        conn.close()
elif mode == "escapes":  # answers with terminal escape sequences
    conn, _ = listener().accept()
    conn.sendall(b"\x1b[2J\x1b]0;pwned\x07\x1b[31mred\r\n")
    print(read_all(conn).decode(), flush=True)
    conn.close()
elif mode == "random":  # for the stress test: one random misdeed per connection, seeded
    chooser = random.Random(arg)
    sock = listener()
    while True:
        what = chooser.choice(["exit", "close", "reset", "few", "read", "read", "sleep-close"])
        print(f"did {what}", flush=True)
        if what == "exit":  # the listener goes away before accept()
            sock.close()
            sys.exit(0)
        conn, _ = sock.accept()
        if what == "close":
            conn.close()
        elif what == "reset":
            reset(conn)
        elif what == "few":
            conn.recv(chooser.randint(1, 20))
            conn.close()
        elif what == "sleep-close":
            time.sleep(chooser.random() / 20)
            conn.close()
        else:
            print(read_all(conn).decode(), flush=True)
            conn.close()
else:
    raise SystemExit(f"unknown mode {mode}")
