import socket

s = socket.socket()
s.bind(("127.0.0.1", 1337))
s.listen()
while True:
    conn, addr = s.accept()
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    print(conn.recv(1024))
    conn.close()
