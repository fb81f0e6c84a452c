# Closes the listening socket inside the loop: the next accept() fails.
import socket
import sys

port = int(sys.argv[1])
with socket.socket() as listener:
    listener.bind(("127.0.0.1", port))
    listener.listen()
    while True:
        conn, addr = listener.accept()
        with conn:
            print(conn.recv(1024).decode())
        listener.close()
