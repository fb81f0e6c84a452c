# Reads 16 bytes once and keeps the connection open: half a flag.
import socket
import sys
import time

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.bind(("127.0.0.1", int(sys.argv[1])))
sock.listen()
conn, addr = sock.accept()
print(conn.recv(16))
time.sleep(30)
