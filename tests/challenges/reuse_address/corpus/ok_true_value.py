import socket

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, True)
s.bind(("127.0.0.1", 1337))
s.listen(5)
while True:
    c, a = s.accept()
    c.close()
