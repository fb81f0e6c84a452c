# A good 8-ball client: banner, question with newline, read until the server closes.
import socket
import sys

question = sys.argv[2] if len(sys.argv) > 2 else "Can I have the flag?"
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as sock:
    print(sock.recv(1024).decode(), end="")
    sock.sendall(question.encode() + b"\n")
    answer = b""
    while chunk := sock.recv(1024):
        answer += chunk
    print(answer.decode(), end="")
