import socket

PORT = 8080  # the port from the tutorial I followed

with socket.socket() as server:
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", PORT))
    server.listen()
    print(f"serving on {PORT}")
    while True:
        conn, _ = server.accept()
        with conn, conn.makefile("w") as out:
            out.write("hello\n")
