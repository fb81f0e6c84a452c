import socket

while True:  # never gets to the server below
    pass

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 1337))
s.listen()
s.accept()
