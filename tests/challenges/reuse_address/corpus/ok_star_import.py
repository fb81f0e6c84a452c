from socket import *

s = socket(AF_INET, SOCK_STREAM)
s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 1337))
s.listen(1)
conn, addr = s.accept()
print(conn.recv(100))
