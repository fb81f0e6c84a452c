import socket as so

ADDR = ("127.0.0.1", 1337)


def main():
    srv = so.socket(so.AF_INET, so.SOCK_STREAM)
    srv.setsockopt(so.SOL_SOCKET, so.SO_REUSEADDR, 1)
    srv.bind(ADDR)
    srv.listen(5)
    try:
        while True:
            client, peer = srv.accept()
            client.sendall(b"hello " + peer[0].encode() + b"\n")
            client.close()
    finally:
        srv.close()


main()
