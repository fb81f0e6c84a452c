import socket

s = socket.socket()
s.setsockopt(1, 2, 1)  # SOL_SOCKET, SO_REUSEADDR on Linux
s.bind(("127.0.0.1", 1337))
s.listen()
while True:
    c, _ = s.accept()
    c.close()
