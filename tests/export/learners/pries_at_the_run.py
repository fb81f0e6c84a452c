# A hostile learner: while /challenge/run serves, look for it in /proc and try to read the flag
# out of its memory or environment; then fetch the flag as a client should, to end the run.
import os
import socket
import sys
from pathlib import Path


def runs_the_challenge(proc: Path) -> bool:
    try:
        return b"/challenge/run" in (proc / "cmdline").read_bytes()
    except OSError:
        return False


me = str(os.getpid())
targets = [p for p in Path("/proc").iterdir() if p.name.isdigit() and p.name != me]
targets = [p for p in targets if runs_the_challenge(p)]
for proc in targets:
    for what in ("mem", "environ"):
        try:
            with open(proc / what, "rb") as f:
                f.read(1)
            print(f"{what}: opened")
        except OSError as error:
            print(f"{what}: {type(error).__name__}")
print(f"found {len(targets)}")

with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as sock:
    sock.sendall(b"hello")
    print(sock.recv(1024).decode().strip())
