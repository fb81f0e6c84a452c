import socket
import sys

# A noisy server: megabytes of output before it even binds.
for i in range(60000):
    print("warming up the flux capacitor", i, "." * 60)
sys.stdout.flush()

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 1337))
s.listen()
while True:
    c, _ = s.accept()
    print("got one")
    c.close()
