import socket

with socket.create_server(("127.0.0.1", 1337)) as server:
    while True:
        conn, addr = server.accept()
        conn.close()
