import socket

while True:
    s = socket.socket()
    s.bind(("127.0.0.1", 1337))
    s.listen()
    conn, addr = s.accept()
    print(conn.recv(1024))
    conn.close()
