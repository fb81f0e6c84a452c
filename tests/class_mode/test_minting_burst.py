"""The minting limit under a burst, on a real `sockdojo serve` over SQLite and PostgreSQL; and
a logged-in CLI that never loads the database layer."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import api_contract
from class_mode.laptops import ClassServer, Laptop, web_account_token
from support import Processes, free_port, sockdojo_command, wait_listening

BURST = 40
LIMIT = 30


def test_the_minting_limit_holds_under_a_burst(
    tmp_path: Path, processes: Processes, database_url: str
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "SOCKDOJO_HOME": str(tmp_path / "server"),
        "SOCKDOJO_DATABASE_URL": database_url,
    }
    server = processes.start(sockdojo_command("serve", "--port", str(port)), env=env)
    wait_listening(port, timeout=30)
    url = f"http://127.0.0.1:{port}"
    token = web_account_token(url, "ada")
    barrier = threading.Barrier(BURST)
    statuses: list[int] = []
    lock = threading.Lock()

    def mint() -> None:
        with api_contract.client(base_url=url, timeout=30) as client:
            barrier.wait(timeout=30)
            answer = client.post(
                "/api/v1/modules/sockets/challenges/client/flag",
                headers={"Authorization": f"Bearer {token}"},
            )
        with lock:
            statuses.append(answer.status_code)

    threads = [threading.Thread(target=mint) for _ in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200] * LIMIT + [429] * (BURST - LIMIT)
    processes.stop(server)


def test_a_logged_in_cli_does_not_import_sqlalchemy(tmp_path: Path, processes: Processes) -> None:
    port = free_port()
    env = {**os.environ, "SOCKDOJO_HOME": str(tmp_path / "server")}
    server = processes.start(sockdojo_command("serve", "--port", str(port)), env=env)
    wait_listening(port)
    url = f"http://127.0.0.1:{port}"
    machine = Laptop("ada", tmp_path / "ada", processes)
    machine.run("login", url, "--with-token", input=web_account_token(url, "ada"))
    for args in (("whoami",), ("list",), ("submit", "sockdojo{nope}"), ("scoreboard",)):
        traced = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "sockdojo", *args],
            capture_output=True,
            text=True,
            env=machine.env(),
            timeout=60,
            check=False,
        )
        assert traced.returncode in (0, 1), traced.stderr[-2000:]
        assert "sqlalchemy" not in traced.stderr, args
        assert any(
            sign in traced.stdout for sign in ("ada", "Not accepted", "No solves in this window")
        ), traced.stdout
    # --local: the embedded dojo, which does use the database.
    local = machine.run("--local", "whoami")
    assert "local dojo" in local.stdout
    processes.stop(server)


def test_wrong_flags_over_the_limit_are_shown_as_a_wait(
    tmp_path: Path, processes: Processes, class_server: ClassServer
) -> None:
    machine = Laptop("ada", tmp_path / "ada", processes)
    token = web_account_token(class_server.url, "ada")
    assert machine.run("login", class_server.url, "--with-token", input=token).returncode == 0
    for _ in range(10):
        wrong = machine.run("submit", "sockdojo{not-a-real-flag}")
        assert wrong.returncode == 1
        assert "not a flag from this dojo" in wrong.stdout
    refused = machine.run("submit", "sockdojo{not-a-real-flag}")
    assert refused.returncode == 1
    assert re.search(r"wait \d+ seconds", refused.stdout), refused.stdout
    assert "Traceback" not in refused.stderr
