import socket

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 1337))
s.listen()
while True:
    conn, addr = s.accept()
    print(conn.recv(1024))
    conn.close()
