import socket

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
sock.bind(("127.0.0.1", 1337))
sock.listen(1)
print("waiting for connections on 1337")
while True:
    conn, addr = sock.accept()
    print("client", addr)
    conn.send(b"welcome\n")
    conn.close()
