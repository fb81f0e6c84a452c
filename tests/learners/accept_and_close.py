# Accepts and closes at once, without reading.
import socket
import sys
import time

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.bind(("127.0.0.1", int(sys.argv[1])))
sock.listen()
conn, addr = sock.accept()
time.sleep(0.2)
conn.close()
time.sleep(5)
