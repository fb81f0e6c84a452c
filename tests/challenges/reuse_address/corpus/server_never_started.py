from socket import socket, AF_INET, SOCK_STREAM, SOL_SOCKET, SO_REUSEADDR

HOST = "127.0.0.1"
PORT = 1337


def main():
    listener = socket(AF_INET, SOCK_STREAM)
    listener.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    listener.bind((HOST, PORT))
    listener.listen()
    while True:
        conn, addr = listener.accept()
        while True:
            data = conn.recv(1024)
            if not data:
                break
            print(addr, data)
        conn.close()
