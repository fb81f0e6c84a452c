import socket


def make_reusable(sock):
    """Let the server restart right away, even while the port is in TIME_WAIT."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return sock


def open_server(port):
    s = make_reusable(socket.socket())
    s.bind(("127.0.0.1", port))
    s.listen()
    return s


server = open_server(1337)
while True:
    conn, _ = server.accept()
    conn.close()
