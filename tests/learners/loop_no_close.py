# Loops, reads once, and forgets to close the connection: still a working server loop.
import sys
from socket import AF_INET, SOCK_STREAM, socket


def main(port: int) -> None:
    server = socket(AF_INET, SOCK_STREAM)
    server.bind(("127.0.0.1", port))
    server.listen(5)
    print("listening on", port)
    while True:
        client, _ = server.accept()
        message = client.recv(1024)
        print(message.decode())


if __name__ == "__main__":
    main(int(sys.argv[1]))
