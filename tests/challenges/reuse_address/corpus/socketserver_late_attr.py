import socketserver


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.recv(1024)


server = socketserver.TCPServer(("127.0.0.1", 1337), Handler)
server.allow_reuse_address = True  # too late: the constructor already bound
server.serve_forever()
