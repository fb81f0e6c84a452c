# Closes the listening socket inside the loop: the next accept() fails.
import socket
import sys

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.bind(("127.0.0.1", int(sys.argv[1])))
sock.listen()
while True:
    conn, addr = sock.accept()
    print(conn.recv(1024).decode())
    conn.close()
    sock.close()
