import socket

REUSE = False
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, REUSE)
s.bind(("127.0.0.1", 1337))
s.listen()
conn, addr = s.accept()
