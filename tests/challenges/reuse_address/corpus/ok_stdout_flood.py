import socket
import sys

# A noisy server: megabytes of output before it even binds.
for i in range(60000):
    print("warming up the flux capacitor", i, "." * 60)
sys.stdout.flush()

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 1337))
server.listen()
print("ready")
try:
    while True:
        c, _ = server.accept()
        print("got one")
        c.close()
finally:
    server.close()
