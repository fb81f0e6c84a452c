"""`sockdojo serve`, `sockdojo account …` and `sockdojo scoreboard`, run as real commands."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

import api_contract
from support import (
    Processes,
    flag_from_client_challenge,
    free_port,
    in_process,
    wait_listening,
)

Cli = Callable[..., subprocess.CompletedProcess[str]]
BOARD = "/api/v1/modules/sockets/scoreboard"


def test_start_up_imports_nothing_heavy() -> None:
    """The web stack, the database layer and the class server's client load only in the
    commands that need them."""
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, sockdojo.cli.main; "
            "heavy = {'starlette', 'uvicorn', 'argon2', 'jinja2', 'sqlalchemy', 'alembic', "
            "'httpx', 'msgspec'}; "
            "heavy &= set(sys.modules); "
            "assert not heavy, heavy",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr


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


def test_cli_acts_as_the_web_account_and_serve_shows_it(
    cli: Cli, processes: Processes, port: int, home: Path
) -> None:
    made = cli("account", "add", "alice", "--password-stdin", input="a long password\n")
    assert made.returncode == 0
    flag = flag_from_client_challenge(processes, "alice", port)
    wrong_account = cli("--account", "bob", "submit", flag)
    assert wrong_account.returncode == 1
    submitted = cli("--account", "alice", "submit", flag)
    assert submitted.returncode == 0, submitted.stdout
    mine = cli("--account", "alice", "scoreboard").stdout
    assert "Sockets: 30-day scoreboard" in mine and "alice" in mine
    # --json prints the API's scoreboard shape, the viewer's own row included.
    local = json.loads(cli("--account", "alice", "scoreboard", "--json").stdout)
    api_contract.conforms("GET", BOARD, 200, local)
    assert local["me"] == local["rows"][0] and local["me"]["awards"][0]["kind"] == "first_blood"

    web_port = free_port()
    server = processes.sockdojo("serve", "--port", str(web_port))
    wait_listening(web_port)
    base = f"http://127.0.0.1:{web_port}"
    scoreboard = api_contract.get(f"{base}/api/v1/modules/sockets/scoreboard", timeout=10).json()
    assert scoreboard["rows"][0]["hacker"] == "alice"
    assert scoreboard == {**local, "me": None}  # the same rows, to the byte; anonymous here
    page = api_contract.get(f"{base}/sockets/", timeout=10)
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


def _processes_where(field: int, value: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses.
            if int(stat.read_text().rsplit(")", 1)[1].split()[field]) == value:
                found.append(int(stat.parent.name))
    return sorted(found)


def children_of(pid: int) -> list[int]:
    return _processes_where(1, pid)


def left_in_group(pgid: int) -> list[int]:
    """Processes still in the group (each `processes.sockdojo` starts a group of its own)."""
    return _processes_where(2, pgid)


def open_files(pid: int) -> list[str]:
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            found.append(os.readlink(fd))
    return found


def holds_socket(pid: int, inode: int) -> bool:
    return f"socket:[{inode}]" in open_files(pid)


def answering_process(port: int, candidates: list[int]) -> int:
    """Ask for the scoreboard on a new connection; the process that holds its server end."""
    from sockdojo.net import kernel_view

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /api/v1/modules/sockets/scoreboard HTTP/1.1\r\nHost: dojo\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        # Still open (keep-alive): the kernel knows the server's end of it, and which
        # process has it among its descriptors.
        server_end = kernel_view.peer_of(sock.getsockname(), sock.getpeername())
        assert server_end is not None
        holders = [pid for pid in candidates if holds_socket(pid, server_end.inode)]
    assert len(holders) == 1, holders
    return holders[0]


def test_serve_with_workers_forks_them_from_one_warm_process(
    processes: Processes, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--workers 2`: the parent loads the app and its scoreboard, then forks the workers.

    They are copies of it (its command line, not a new interpreter), both answer, and the
    parent keeps no database connection to share with them; a worker that dies is replaced by
    a new fork, which answers at once. Ctrl-C stops them all, cleanly.
    """
    from sockdojo.net import kernel_view

    monkeypatch.setenv("SOCKDOJO_DATABASE_URL", database_url)
    web_port = free_port()
    server = processes.sockdojo("serve", "--port", str(web_port), "--workers", "2")
    wait_listening(web_port, timeout=30)
    base = f"http://127.0.0.1:{web_port}"
    deadline = time.monotonic() + 30
    while len(children_of(server.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = children_of(server.pid)
    assert len(workers) == 2
    command = Path(f"/proc/{server.pid}/cmdline").read_bytes()
    for worker in workers:
        assert Path(f"/proc/{worker}/cmdline").read_bytes() == command

    seen = {answering_process(web_port, workers) for _ in range(200)}
    assert seen == set(workers)
    # The workers read the database; the parent, which loaded the scoreboard before the fork,
    # has let go of its connection.
    if database_url.startswith("sqlite"):
        database = database_url.removeprefix("sqlite:///")
        assert not [f for f in open_files(server.pid) if f.startswith(database)]
        assert all(any(f == database for f in open_files(w)) for w in workers)
    else:
        postgres_port = make_url(database_url).port or 5432
        connections = [
            s.inode
            for s in kernel_view.tcp_sockets(postgres_port) or []
            if s.remote_port == postgres_port
        ]
        assert connections
        assert not [inode for inode in connections if holds_socket(server.pid, inode)]

    os.kill(workers[0], signal.SIGKILL)
    while time.monotonic() < deadline:
        replaced = children_of(server.pid)
        if len(replaced) == 2 and workers[0] not in replaced:
            break
        time.sleep(0.05)
    assert workers[1] in replaced and workers[0] not in replaced
    (new,) = set(replaced) - set(workers)
    assert Path(f"/proc/{new}/cmdline").read_bytes() == command
    # The workers share one listening socket, and the kernel gives a new connection to
    # whichever waiting worker takes it first: a freshly forked one loses most races to the
    # warm one, so ask until it answers (a bounded number of times) rather than a fixed 200.
    deadline = time.monotonic() + 30
    answered = [answering_process(web_port, replaced)]
    while new not in answered and len(answered) < 5000 and time.monotonic() < deadline:
        answered.append(answering_process(web_port, replaced))
    assert new in answered, f"the new worker took none of {len(answered)} connections"
    assert api_contract.get(f"{base}/sockets/", timeout=10).status_code == 200

    console = processes.stop(server)
    assert server.returncode == 0, console
    assert "The web dojo stopped." in console
    # gunicorn's parent said nothing but that the worker was killed (none of the others
    # was killed by the Ctrl-C: each left with status 0).
    reports = [line for line in console.splitlines() if "[WARNING]" in line or "[ERROR]" in line]
    assert len(reports) == 1, console
    assert f"Worker (pid:{workers[0]}) was sent SIGKILL" in reports[0]
    assert not left_in_group(server.pid)


def test_serve_with_workers_stops_cleanly_while_it_forks_them(processes: Processes) -> None:
    """Ctrl-C or SIGTERM while the workers are being forked (one may exist, the next not yet,
    or not listen for signals yet): everything stops at once, quietly, with status 0."""
    for delay, stop in ((0.0, signal.SIGINT), (0.02, signal.SIGTERM), (0.05, signal.SIGINT)):
        server = processes.sockdojo("serve", "--port", str(free_port()), "--workers", "2")
        deadline = time.monotonic() + 30
        while not children_of(server.pid) and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(delay)
        os.killpg(server.pid, stop)
        began = time.monotonic()
        output, _ = server.communicate(timeout=20)
        assert time.monotonic() - began < 5, output
        assert server.returncode == 0, output
        assert "The web dojo stopped." in output
        assert "[WARNING]" not in output and "[ERROR]" not in output, output
        assert not left_in_group(server.pid)


def test_account_add_refuses_a_lookalike_of_a_taken_name(home: Path) -> None:
    assert in_process("account", "add", "alice").exit_code == 0
    lookalike = in_process("account", "add", "aIice")
    assert lookalike.exit_code == 1
    assert "looks too much like 'alice'" in lookalike.stderr
