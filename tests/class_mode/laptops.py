"""A real class: one `sockdojo serve` and learners' laptops, each a `sockdojo` CLI with its own
HOME, data directory and config directory.

The laptops share the host's network namespace with the server (it must be reachable, and
their challenge servers run on free ports of 127.0.0.1); what keeps them apart is everything a
laptop would have of its own: home, data directory, config directory, environment.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import api_contract
from support import Processes, sockdojo_command

PASSWORD = "a long class password"
NEW_TOKEN = re.compile(r'<code id="new-token">([^<]+)</code>')


@dataclass
class Laptop:
    name: str
    root: Path
    processes: Processes

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
        return subprocess.run(
            sockdojo_command(*args),
            capture_output=True,
            text=True,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            timeout=timeout,
            env=self.env(**extra),
            check=False,
        )

    def start(self, *args: str, **extra: str) -> subprocess.Popen[str]:
        return self.processes.start(sockdojo_command(*args), env=self.env(**extra))

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
