# The client from the module's page, as a learner types it (port from argv for tests).
import socket
import sys

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
resource_address = ("127.0.0.1", int(sys.argv[1]))  # Notice, this is a tuple.
sock.connect(resource_address)

sock.send(b"DATA")
dirtuh = sock.recv(1024)

print(dirtuh.decode("UTF-8"))
sock.close()
