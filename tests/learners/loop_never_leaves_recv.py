# The inner reading loop never stops at b'', so the server never accepts again.
import socket
import sys
import time

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.bind(("127.0.0.1", int(sys.argv[1])))
sock.listen()
while True:
    conn, addr = sock.accept()
    while True:
        data = conn.recv(1024)
        print(data)
        time.sleep(0.01)
