import socket


class EchoServer:
    def __init__(self, host="127.0.0.1", port=1337):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.address = (host, port)

    def start(self):
        self.sock.bind(self.address)
        self.sock.listen()
        while True:
            conn, _ = self.sock.accept()
            self.handle(conn)

    def handle(self, conn):
        data = conn.recv(1024)
        conn.sendall(data)
        conn.close()


if __name__ == "__main__":
    EchoServer().start()
