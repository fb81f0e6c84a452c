import socket

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADR, 1)
s.bind(("127.0.0.1", 1337))
s.listen()
conn, addr = s.accept()
