"""My server. It calls s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1) first."""
import socket

s = socket.socket()
s.bind(("127.0.0.1", 1337))
s.listen()
conn, addr = s.accept()
