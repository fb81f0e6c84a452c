import socket

s = socket.socket()
s.setsockopt(0xFFFF, 4, 1)  # copied from a macOS header
s.bind(("127.0.0.1", 1337))
s.listen()
conn, addr = s.accept()
