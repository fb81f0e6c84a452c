import socketserver


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.recv(1024)


with socketserver.TCPServer(("127.0.0.1", 1337), Handler) as server:
    server.serve_forever()
