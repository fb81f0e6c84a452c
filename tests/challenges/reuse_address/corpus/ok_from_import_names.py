from socket import socket, AF_INET, SOCK_STREAM, SOL_SOCKET
from socket import SO_REUSEADDR as REUSE

listener = socket(AF_INET, SOCK_STREAM)
listener.setsockopt(SOL_SOCKET, REUSE, 1)
listener.bind(("127.0.0.1", 1337))
listener.listen()
conn, addr = listener.accept()
