import socket

LEVEL = socket.SOL_SOCKET
OPTION = socket.SO_REUSEADDR
ON = 1
ADDRESS = ("127.0.0.1", 1337)

s = socket.socket()
s.setsockopt(LEVEL, OPTION, ON)
s.bind(ADDRESS)
s.listen()
while True:
    c, _ = s.accept()
    c.close()
