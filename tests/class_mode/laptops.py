"""A real class: one `sockdojo serve` and learners' laptops, each a `sockdojo` CLI with its own
HOME, data directory and config directory.

Each laptop has its own network namespace on the class network (`network.py`), so its challenges
and learner programs use its own 127.0.0.1:1337, as on separate laptops, and it reaches the class
server only over that network; and everything else a laptop has of its own: home, data
directory, config directory, environment.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

import api_contract
from class_mode.network import IP
from support import LEARNERS, Processes, free_port, run_sockdojo, sockdojo_command, wait_listening

PASSWORD = "a long class password"
NEW_TOKEN = re.compile(r'<code id="new-token">([^<]+)</code>')


TESTS = Path(__file__).parent.parent
# Waits for a listener without connecting to it (a connection would be a learner's turn).
WAIT_LISTENING = (
    "import sys; sys.path.insert(0, sys.argv[1]); import support; "
    "support.wait_listening_quietly(int(sys.argv[2]))"
)


@dataclass
class Laptop:
    name: str
    root: Path
    processes: Processes
    netns: str  # its own network namespace (`ClassNetwork.join`)

    def __post_init__(self) -> None:
        for directory in (self.home, self.config):
            directory.mkdir(parents=True, exist_ok=True)

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def config(self) -> Path:
        return self.home / ".config" / "sockdojo"

    def env(self, **extra: str) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "PYTHONPATH")}
        return {
            **keep,
            "HOME": str(self.home),
            "SOCKDOJO_HOME": str(self.home / "sockdojo-data"),
            "SOCKDOJO_CONFIG": str(self.config),
            "SOCKDOJO_ACCOUNT": self.name,
            "NO_COLOR": "1",
            "CI": "true",  # no browser to open from the CLI
            **extra,
        }

    def run(
        self, *args: str, input: str | None = None, timeout: float = 60, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        return run_sockdojo(
            *args, input=input, timeout=timeout, env=self.env(**extra), within=self.inside()
        )

    def inside(self, *command: str) -> list[str]:
        """`command` run on this laptop: in its network namespace."""
        return [IP, "netns", "exec", self.netns, *command]

    def log_in(self, server: str) -> None:
        """`sockdojo login --with-token` with a token made on the server's account page."""
        token = web_account_token(server, self.name)
        logged = self.run("login", server, "--with-token", input=token)
        assert logged.returncode == 0, logged.stdout + logged.stderr

    def start(self, *args: str, **extra: str) -> subprocess.Popen[str]:
        return self.processes.start(self.inside(*sockdojo_command(*args)), env=self.env(**extra))

    def learner(self, script: str, *args: str) -> subprocess.Popen[str]:
        """A learner program from tests/learners, started on this laptop."""
        return self.processes.start(
            self.inside(sys.executable, "-u", str(LEARNERS / script), *args)
        )

    def run_learner(self, script: str, *args: str) -> str:
        """A learner program run to completion on this laptop: what it printed."""
        command = self.inside(sys.executable, str(LEARNERS / script), *args)
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def wait_listening(self, port: int = 1337) -> None:
        command = self.inside(sys.executable, "-c", WAIT_LISTENING, str(TESTS), str(port))
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
        assert done.returncode == 0, done.stderr[-2000:]

    def files(self) -> list[Path]:
        return [path for path in self.root.rglob("*") if path.is_file()]


def web_account_token(server: str, name: str) -> str:
    """Register `name` on the web dojo and make a token on its account page, as a browser."""
    with api_contract.client(base_url=server, timeout=10) as browser:
        csrf = browser.get("/api/v1/me").json()["csrf_token"]
        registered = browser.post(
            "/register",
            data={"csrf_token": csrf, "name": name, "password": PASSWORD, "confirm": PASSWORD},
        )
        assert registered.status_code == 303, registered.text
        csrf = browser.get("/api/v1/me").json()["csrf_token"]
        page = browser.post("/account/tokens", data={"csrf_token": csrf, "name": "laptop"})
        found = NEW_TOKEN.search(page.text)
        assert found, page.text
        return found.group(1)


@dataclass
class ClassServer:
    url: str
    home: Path
    process: subprocess.Popen[str]

    def secret(self) -> bytes:
        return (self.home / "flag-secret").read_bytes().strip()


@contextlib.contextmanager
def clients(url: str, count: int) -> Iterator[list[httpx.Client]]:
    """`count` HTTP clients made beforehand, so a burst's requests leave together."""
    with contextlib.ExitStack() as stack:
        made = (api_contract.client(base_url=url, timeout=30) for _ in range(count))
        yield [stack.enter_context(client) for client in made]


def start_class_server(
    processes: Processes,
    home: Path,
    *,
    host: str = "127.0.0.1",
    database_url: str | None = None,
) -> ClassServer:
    """A real `sockdojo serve` on a free port of `host`, its data in `home` (and `database_url`)."""
    port = free_port()
    url = f"http://{host}:{port}"
    env = {**os.environ, "SOCKDOJO_HOME": str(home), "NO_COLOR": "1"}
    if database_url is not None:
        env["SOCKDOJO_DATABASE_URL"] = database_url
    server = processes.start(
        sockdojo_command("serve", "--host", host, "--port", str(port), "--public-url", url),
        env=env,
    )
    wait_listening(port, host=host, timeout=30)
    return ClassServer(url, home, server)
