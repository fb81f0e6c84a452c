import socket


def allow_reuse(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)


def main():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 1337))
    allow_reuse(sock)  # defined above, but it runs after bind()
    sock.listen()
    while True:
        conn, _ = sock.accept()
        conn.close()


main()
