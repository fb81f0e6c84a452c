import socket

probe = socket.socket()
probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)

server = socket.socket()
server.bind(("127.0.0.1", 1337))
server.listen()
while True:
    conn, addr = server.accept()
    conn.close()
