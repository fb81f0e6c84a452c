import socket as so

srv = so.socket(so.AF_INET, so.SOCK_STREAM)
srv.setsockopt(so.SOL_SOCKET, so.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 1337))
srv.listen()
while True:
    client, _ = srv.accept()
    client.close()
