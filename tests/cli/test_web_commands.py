"""`sockdojo serve`, `sockdojo account …` and `sockdojo scoreboard`, run as real commands."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner

from support import Processes, free_port, recv_all, wait_listening, wait_listening_quietly

Cli = Callable[..., subprocess.CompletedProcess[str]]


def test_start_up_imports_nothing_heavy_for_the_web_commands() -> None:
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, sockdojo.cli.main; "
            "heavy = {'starlette', 'uvicorn', 'argon2', 'jinja2', 'sqlalchemy'}; "
            "heavy &= set(sys.modules); "
            "assert not heavy, heavy",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr


def in_process(*args: str, input: str | None = None) -> Any:
    """Run a command inside this process: the same code, without a second of start-up."""
    from sockdojo.cli.main import cli

    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def test_accounts_from_the_command_line(home: Path) -> None:
    from sockdojo.storage import accounts
    from sockdojo.storage.database import Store
    from sockdojo.web.passwords import Passwords

    made = in_process("account", "add", "alice", "--password-stdin", input="a long password\n")
    assert made.exit_code == 0, made.output
    assert "Created account alice; can log in on the web." in made.stdout
    assert in_process("account", "add", "teacher", "--admin").exit_code == 0
    hidden = in_process("account", "add", "tester", "--hidden")
    assert "(hidden); no password: CLI only" in hidden.stdout
    taken = in_process("account", "add", "ALICE")
    assert taken.exit_code == 1 and "already taken" in taken.stderr
    bad = in_process("account", "add", "<b>x</b>")
    assert bad.exit_code == 2 and "letters, digits" in bad.stderr
    short = in_process("account", "add", "bob", "--password-stdin", input="short\n")
    assert short.exit_code == 2 and "at least 8 characters" in short.stderr
    assert "shown on" in in_process("account", "unhide", "tester").stdout
    assert "hidden from" in in_process("account", "hide", "alice").stdout
    assert in_process("account", "hide", "nobody").exit_code == 1
    # An account without a password (made here, or by `--account` on first use) gets one.
    password = in_process(
        "account", "set-password", "teacher", "--password-stdin", input=" spaced pw \n"
    )
    assert password.exit_code == 0, password.output
    prompted = in_process("account", "set-password", "tester", input="typed twice\ntyped twice\n")
    assert prompted.exit_code == 0, prompted.output
    listed = json.loads(in_process("account", "list", "--json").stdout)
    assert [(a["name"], a["admin"], a["hidden"], a["password"]) for a in listed] == [
        ("alice", False, True, True),
        ("teacher", True, False, True),
        ("tester", False, False, True),
    ]
    assert "teacher" in in_process("account", "list").stdout
    store = Store(f"sqlite:///{home / 'sockdojo.db'}")
    with store.session() as session:
        teacher = accounts.find(session, "teacher")
        assert teacher is not None
    store.dispose()
    assert Passwords().verify(teacher.password_hash, " spaced pw ")


def flag_from_client_challenge(processes: Processes, port: int, account: str) -> str:
    challenge = processes.sockdojo(
        "--account", account, "run", "client", "--port", str(port), "--once"
    )
    wait_listening_quietly(port)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"hi\n")
        flag = recv_all(sock).decode().strip()
    assert challenge.wait(timeout=10) == 0
    return flag


def test_cli_acts_as_the_web_account_and_serve_shows_it(
    cli: Cli, processes: Processes, port: int, home: Path
) -> None:
    made = cli("account", "add", "alice", "--password-stdin", input="a long password\n")
    assert made.returncode == 0
    flag = flag_from_client_challenge(processes, port, "alice")
    wrong_account = cli("--account", "bob", "submit", flag)
    assert wrong_account.returncode == 1
    submitted = cli("--account", "alice", "submit", flag)
    assert submitted.returncode == 0, submitted.stdout
    mine = cli("--account", "alice", "scoreboard").stdout
    assert "Sockets: 30-day scoreboard" in mine and "alice" in mine

    web_port = free_port()
    server = processes.sockdojo("serve", "--port", str(web_port))
    wait_listening(web_port)
    base = f"http://127.0.0.1:{web_port}"
    scoreboard = httpx.get(f"{base}/api/v1/modules/sockets/scoreboard", timeout=10).json()
    assert scoreboard["rows"][0]["hacker"] == "alice"
    page = httpx.get(f"{base}/sockets/", timeout=10)
    assert page.status_code == 200 and "30-Day Scoreboard" in page.text
    console = processes.stop(server)
    assert f"http://127.0.0.1:{web_port}/" in console
    assert "sockdojo --account NAME run client" in console
    assert "The web dojo stopped." in console
    assert server.returncode == 0
    assert (home / "session-key").stat().st_mode & 0o777 == 0o600


def test_serve_on_a_busy_port_says_so(cli: Cli) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        result = cli("serve", "--port", str(taken))
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{taken}" in result.stderr
