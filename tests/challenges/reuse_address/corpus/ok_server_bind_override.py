import socket
import socketserver


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.recv(1024)


class ReusingServer(socketserver.TCPServer):
    def server_bind(self):
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        super().server_bind()


server = ReusingServer(("127.0.0.1", 1337), Handler)
server.serve_forever()
