import socket

s = socket.socket()
exec("s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)")
s.bind(("127.0.0.1", 1337))
s.listen()
conn, addr = s.accept()
