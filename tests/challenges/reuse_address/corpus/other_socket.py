import socket

client = socket.socket()
client.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)


def serve(port):
    listener = socket.socket()
    listener.bind(("127.0.0.1", port))
    listener.listen()
    while True:
        conn, addr = listener.accept()
        print(addr, "says", conn.recv(64))
        conn.close()


serve(1337)
