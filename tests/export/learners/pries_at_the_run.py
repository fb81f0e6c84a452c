# A hostile learner: while /challenge/run serves, look for it in /proc and try to read the flag
# out of its memory or environment; then fetch the flag as a client should, to end the run.
import os
import socket
import sys

found = 0
for entry in os.listdir("/proc"):
    if not entry.isdigit() or int(entry) == os.getpid():
        continue
    try:
        with open(f"/proc/{entry}/cmdline", "rb") as f:
            command = f.read()
    except OSError:
        continue
    if b"/challenge/run" not in command:
        continue
    found += 1
    for what in ("mem", "environ"):
        try:
            with open(f"/proc/{entry}/{what}", "rb") as f:
                f.read(1)
            print(f"{what}: opened")
        except OSError as error:
            print(f"{what}: {type(error).__name__}")
print(f"found {found}")
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as sock:
    sock.sendall(b"hello")
    print(sock.recv(1024).decode().strip())
