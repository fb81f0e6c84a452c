# The server from the module's page: one connection, then the program ends.
import socket
import sys

bind_addr = ("127.0.0.1", int(sys.argv[1]))
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.bind(bind_addr)
sock.listen(1)
client_socket, client_address = sock.accept()
client_socket.send(b"DATA")
client_data = client_socket.recv(1024)
print(client_data.decode())
client_socket.close()
