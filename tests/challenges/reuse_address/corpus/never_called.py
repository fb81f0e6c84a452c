import socket


def prepare(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)


s = socket.socket()
s.bind(("127.0.0.1", 1337))
s.listen()
while True:
    conn, addr = s.accept()
    conn.close()
