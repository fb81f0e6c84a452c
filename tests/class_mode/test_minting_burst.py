"""The minting limit under a burst, on a real `sockdojo serve` over SQLite and PostgreSQL; and
a logged-in CLI that never loads the database layer."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from class_mode.laptops import ClassServer, Laptop, clients, start_class_server, web_account_token
from support import Processes, burst

BURST = 40
LIMIT = 30


def test_the_minting_limit_holds_under_a_burst(
    tmp_path: Path, processes: Processes, database_url: str
) -> None:
    server = start_class_server(processes, tmp_path / "server", database_url=database_url)
    token = web_account_token(server.url, "ada")

    def mint(client: httpx.Client) -> int:
        answer = client.post(
            "/api/v1/modules/sockets/challenges/client/flag",
            headers={"Authorization": f"Bearer {token}"},
        )
        return answer.status_code

    with clients(server.url, BURST) as minting:
        statuses = burst(BURST, lambda n: mint(minting[n]))
    assert sorted(statuses) == [200] * LIMIT + [429] * (BURST - LIMIT)
    processes.stop(server.process)


def test_a_logged_in_cli_does_not_import_sqlalchemy(
    class_server: ClassServer, laptops: Callable[[str], Laptop]
) -> None:
    url = class_server.url
    machine = laptops("ada")
    machine.log_in(url)
    for args in (("whoami",), ("list",), ("submit", "sockdojo{nope}"), ("scoreboard",)):
        traced = subprocess.run(
            machine.inside(sys.executable, "-X", "importtime", "-m", "sockdojo", *args),
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


def test_wrong_flags_over_the_limit_are_shown_as_a_wait(
    class_server: ClassServer, laptops: Callable[[str], Laptop]
) -> None:
    machine = laptops("ada")
    machine.log_in(class_server.url)
    for _ in range(10):
        wrong = machine.run("submit", "sockdojo{not-a-real-flag}")
        assert wrong.returncode == 1
        assert "not a flag from this dojo" in wrong.stdout
    refused = machine.run("submit", "sockdojo{not-a-real-flag}")
    assert refused.returncode == 1
    assert re.search(r"wait \d+ seconds", refused.stdout), refused.stdout
    assert "Traceback" not in refused.stderr
