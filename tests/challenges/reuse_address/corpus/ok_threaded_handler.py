import socket
import threading

ADDRESS = ("127.0.0.1", 1337)


def handle(conn, addr):
    print("new client", addr)
    with conn, conn.makefile("rb") as lines:
        for line in lines:
            conn.sendall(line.upper())
    print("client left", addr)


with socket.socket() as server:
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(ADDRESS)
    server.listen()
    while True:
        conn, addr = server.accept()
        t = threading.Thread(target=handle, args=(conn, addr), daemon=True)
        t.start()
