import socket

HOST, PORT = "127.0.0.1", 1337


def serve(sock):
    while True:
        conn, addr = sock.accept()
        print(conn.recv(1024))
        conn.close()


def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, PORT))
    sock.listen()
    serve(sock)


if __name__ == "__main__":
    main()
