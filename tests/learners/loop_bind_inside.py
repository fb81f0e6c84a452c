# socket() and bind() inside the loop: the second bind fails, the program dies.
import socket
import sys

while True:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", int(sys.argv[1])))
    sock.listen()
    conn, addr = sock.accept()
    print(conn.recv(1024).decode())
    conn.close()
