# Loops, reads once, and forgets to close the connection: still a working server loop.
import socket
import sys

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.bind(("127.0.0.1", int(sys.argv[1])))
sock.listen()
while True:
    conn, addr = sock.accept()
    print(conn.recv(1024).decode())
