"""Run one challenge end to end on the real 127.0.0.1:1337, inside a private network namespace.

Started by test_netns.py as `unshare -n python netns_scenario.py CHALLENGE`; nothing here can
collide with anything else on the machine because the namespace has its own loopback.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

LEARNERS = Path(__file__).parents[1] / "learners"
PORT = 1337
PY = sys.executable


def sockdojo(*args: str) -> list[str]:
    return [PY, "-m", "sockdojo", *args]


def wait_for_listener() -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
        if any(
            line.split()[1].endswith(f":{PORT:04X}") and line.split()[3] == "0A" for line in lines
        ):
            return
        time.sleep(0.02)
    raise SystemExit("nothing listened on 1337")


def learner(script: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PY, "-u", str(LEARNERS / script), str(PORT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def finish(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
    return output or ""


def served_by_us(challenge: str, question: bytes) -> str:
    server = subprocess.Popen(
        sockdojo("run", challenge, "--once"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_for_listener()
    # The learner's code as the module page writes it: the default address, port 1337.
    with socket.create_connection(("127.0.0.1", PORT), timeout=10) as sock:
        sock.sendall(question)
        answer = b""
        while chunk := sock.recv(1024):
            answer += chunk
    assert server.wait(timeout=10) == 0, finish(server)
    return answer.decode()


def checked_by_us(challenge: str, script: str) -> str:
    server = learner(script)
    wait_for_listener()
    result = subprocess.run(
        sockdojo("run", challenge), capture_output=True, text=True, timeout=30, check=False
    )
    printed = finish(server)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "127.0.0.1:1337" in result.stdout
    return printed


def main() -> None:
    challenge = sys.argv[1]
    if challenge == "client":
        output = served_by_us("client", b"hi")
    elif challenge == "eight-ball":
        output = served_by_us("eight-ball", b"Can I have the flag?\n")
    elif challenge == "server":
        output = checked_by_us("server", "seed_server.py")
    else:
        output = checked_by_us("server-loop", "loop_server.py")
    flags = [word for word in output.split() if word.startswith("sockdojo{")]
    assert flags, output
    print(flags[-1])


if __name__ == "__main__":
    main()
