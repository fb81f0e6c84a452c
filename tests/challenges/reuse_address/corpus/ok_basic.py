import socket

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 1337))
server.listen()
while True:
    conn, addr = server.accept()
    print("connection from", addr)
    print(conn.recv(1024))
    conn.close()
