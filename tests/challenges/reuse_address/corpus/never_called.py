import socket


def allow_restart(sock):
    # so I stop getting "Address already in use" every time I restart
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)


HOST = "127.0.0.1"
PORT = 1337

listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.bind((HOST, PORT))
listener.listen(1)
while True:
    conn, addr = listener.accept()
    data = conn.recv(1024)
    while data:
        conn.sendall(data)
        data = conn.recv(1024)
    conn.close()
