import socket

s = socket.socket()
option = getattr(socket, "SO_" + "REUSEADDR")
s.setsockopt(socket.SOL_SOCKET, option, 1)
s.bind(("127.0.0.1", 1337))
s.listen()
conn, addr = s.accept()
