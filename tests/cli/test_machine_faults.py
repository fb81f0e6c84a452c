"""When the learner's machine gets in the way, the real `sockdojo` command says so in one
sentence and exits 2, never with a traceback.

Real faults, made as a machine makes them: a small tmpfs of our own filled to the last block,
the same remounted read-only, a database file overwritten with garbage or with broken pages,
a schema revision from a newer sockdojo, twelve first runs started at the same moment, and
the database file deleted under a running `sockdojo serve`.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text

import api_contract
from sockdojo.challenges import registry
from sockdojo.storage.database import HEAD_REVISION
from sockdojo.storage.models import Account, Module
from support import Processes, free_port, sockdojo_command

Run = Callable[..., subprocess.CompletedProcess[str]]

FULL = "is full: free some space"
NOT_WRITABLE = "cannot write to"
DAMAGED = "is damaged, so sockdojo cannot read it"
NEWER = "was made by a newer sockdojo"


def one_sentence_and_exit_2(result: subprocess.CompletedProcess[str], words: str) -> None:
    """The command ended in our sentence (and its detail line), status 2, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert words in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "bug in sockdojo" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("ERROR"), result.stderr
    assert len(lines) <= 2, result.stderr


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs of our own, mounted for this test and unmounted after it."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.fixture
def disk_home(home: Path, disk: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """SOCKDOJO_HOME on the small disk (not yet created: the first run makes it), in place of
    the usual test home (which it follows, so that processes started later get this one)."""
    home = disk / "home"
    monkeypatch.setenv("SOCKDOJO_HOME", str(home))
    return home


def fill(disk: Path) -> None:
    """Write zeros until the disk refuses, in ever smaller pieces so that not one block is
    left (bounded: 1 MiB of disk, at most 64 pieces of each size)."""
    refused: list[int | None] = []
    with open(disk / "filler", "wb", buffering=0) as handle:
        for size in (64 * 1024, 4096, 512, 1):
            for _ in range(64):
                try:
                    handle.write(bytes(size))
                except OSError as error:
                    refused.append(error.errno)
                    break
    assert refused == [errno.ENOSPC] * 4, refused


def remount_read_only(disk: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)


def test_first_run_on_a_full_disk(cli: Run, disk: Path, disk_home: Path) -> None:
    fill(disk)
    one_sentence_and_exit_2(cli("list"), FULL)


def test_database_fills_the_disk(cli: Run, disk: Path, disk_home: Path, port: int) -> None:
    assert cli("list").returncode == 0
    # The flag secret is made by the first run that needs a flag (here: nothing listens).
    assert cli("run", "server", "--port", str(port)).returncode == 1
    fill(disk)
    one_sentence_and_exit_2(cli("submit", "sockdojo{00000000000000000000000000000000}"), FULL)


def test_flag_secret_on_a_full_disk(cli: Run, disk: Path, disk_home: Path, port: int) -> None:
    assert cli("list").returncode == 0
    fill(disk)
    result = cli("run", "server", "--port", str(port))
    one_sentence_and_exit_2(result, FULL)
    assert not (disk_home / "flag-secret").exists(), "a half-written secret was left behind"


def test_read_only_data_directory(cli: Run, disk: Path, disk_home: Path) -> None:
    assert cli("list").returncode == 0
    remount_read_only(disk)
    one_sentence_and_exit_2(cli("list"), NOT_WRITABLE)


def test_new_data_directory_on_a_read_only_disk(
    cli: Run, disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remount_read_only(disk)
    monkeypatch.setenv("SOCKDOJO_HOME", str(disk / "new"))
    one_sentence_and_exit_2(cli("list"), NOT_WRITABLE)


def test_data_directory_without_write_permission(home: Path) -> None:
    """EACCES, as a learner meets it: the directory is not writable for them. We are root in
    the tests, and root writes anywhere, so the command runs without the capabilities that
    let root ignore file permissions (setpriv, util-linux)."""
    if os.geteuid() != 0:
        pytest.skip("dropping root's capabilities needs root")
    home.mkdir(parents=True)
    home.chmod(0o555)
    result = subprocess.run(
        ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *sockdojo_command("list")],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    one_sentence_and_exit_2(result, NOT_WRITABLE)
    assert "Permission denied" in result.stderr


def test_database_file_that_is_not_a_database(cli: Run, home: Path) -> None:
    home.mkdir(parents=True)
    (home / "sockdojo.db").write_bytes(b"my notes, not a database\n" * 200)
    one_sentence_and_exit_2(cli("list"), DAMAGED)


def test_database_with_broken_pages(cli: Run, home: Path) -> None:
    assert cli("--account", "ada", "list").returncode == 0
    database = home / "sockdojo.db"
    with sqlite3.connect(database) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = database.stat().st_size
    assert size > 4 * 4096
    with open(database, "r+b") as handle:
        # Keep page 1 (the header and the list of tables), break the pages of the tables.
        handle.seek(4096)
        handle.write(b"\xff" * (size - 4096))
    one_sentence_and_exit_2(cli("--account", "ada", "list"), DAMAGED)


def test_database_of_a_newer_sockdojo(
    cli: Run, home: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCKDOJO_DATABASE_URL", database_url)
    assert cli("list").returncode == 0
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    result = cli("list")
    one_sentence_and_exit_2(result, NEWER)
    assert f"schema 0099; this one knows up to {HEAD_REVISION}" in result.stderr
    assert ":sockdojo_test@" not in result.stderr, "the PostgreSQL password was shown"
    elsewhere = "SOCKDOJO_DATABASE_URL" if "postgresql" in database_url else "SOCKDOJO_HOME"
    assert f"point {elsewhere} at another" in result.stderr
    # The web dojo says the same before it serves anything.
    one_sentence_and_exit_2(cli("serve", "--port", str(free_port())), NEWER)


def test_twelve_first_runs_at_once(
    home: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twelve CLIs open a database nobody has made yet, and mint flags with a secret nobody
    has made yet, all at the same moment: each does its own work, none crashes.

    They wait on one pipe and are released together by closing it (a barrier across
    processes). Before the lock, 7 of 12 ended in "table modules already exists" and the like.
    """
    monkeypatch.setenv("SOCKDOJO_DATABASE_URL", database_url)
    home.mkdir(parents=True)
    release_read, release_write = os.pipe()
    # Submitting needs the database (the account, the attempt) and the secret (the check): a
    # run no longer makes either before its flag is due.
    elsewhere = "sockdojo{AQACAAAAAAHGYDct1elHym7VPcHnNdFE}"
    # Each imports what a first run needs, waits for the pipe to close, then runs the real
    # command in this same process: the twelve meet in the migrations, not in start-up.
    starter = (
        "import os, sys, runpy, alembic.command, sockdojo.cli.main, sockdojo.local_dojo; "
        "os.read(int(sys.argv[1]), 1); sys.argv = sys.argv[2:]; "
        "runpy.run_module('sockdojo', run_name='__main__')"
    )
    started = []
    try:
        for n in range(12):
            command = sockdojo_command("--account", f"learner{n % 4}", "submit", elsewhere)
            python, rest = command[0], command[command.index("sockdojo") + 1 :]
            started.append(
                subprocess.Popen(
                    [python, "-c", starter, str(release_read), "sockdojo", *rest],
                    pass_fds=(release_read,),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        os.close(release_read)
        os.close(release_write)  # go
        results = [process.communicate(timeout=60) for process in started]
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    for process, (out, err) in zip(started, results, strict=True):
        # A flag of another dojo: each is refused as a learner's would be, having made or found
        # the database and the secret first.
        assert process.returncode == 1, (out, err)
        assert "Not accepted" in out and "ERROR" not in err and "Traceback" not in err, (out, err)
    engine = create_engine(database_url)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == HEAD_REVISION
        assert connection.scalar(select(func.count()).select_from(Module)) == 1
        assert connection.scalar(select(func.count()).select_from(Account)) == 4
    engine.dispose()
    secret = (home / "flag-secret").read_text()
    assert len(bytes.fromhex(secret.strip())) == 32
    assert sorted(path.name for path in home.iterdir() if path.name.startswith(".")) == []


def test_files_are_owner_only_under_umask_022(home: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            sockdojo_command(*args),
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
            umask=0o022,
            check=False,
        )

    def modes() -> dict[str, int]:
        found = {path.name: stat.S_IMODE(path.stat().st_mode) for path in home.iterdir()}
        return {".": stat.S_IMODE(home.stat().st_mode), **found}

    assert run("submit", "sockdojo{AQACAAAAAAHGYDct1elHym7VPcHnNdFE}").returncode == 1
    created = modes()
    assert {"sockdojo.db", "flag-secret"} <= set(created), created
    assert created == {".": 0o700} | {name: 0o600 for name in created if name != "."}

    # A data directory of an older sockdojo, made under umask 022, is tightened, and so are
    # SQLite's -wal and -shm files (they stay while a connection holds the database).
    for path in [home, *home.iterdir()]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    with sqlite3.connect(home / "sockdojo.db") as holder:
        holder.execute("SELECT count(*) FROM accounts").fetchone()
        for suffix in ("-wal", "-shm"):
            (home / f"sockdojo.db{suffix}").chmod(0o644)
        assert run("submit", "sockdojo{AQACAAAAAAHGYDct1elHym7VPcHnNdFE}").returncode == 1
        tightened = modes()
    holder.close()
    assert {"sockdojo.db-wal", "sockdojo.db-shm"} <= set(tightened)
    assert tightened == {".": 0o700} | {name: 0o600 for name in tightened if name != "."}


def start_server(processes: Processes) -> tuple[subprocess.Popen[str], str]:
    """A real `sockdojo serve` on SOCKDOJO_HOME under umask 022, once it answers."""
    port = free_port()
    server = processes.start(sockdojo_command("serve", "--port", str(port)), umask=0o022)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if api_contract.get(base + "/api/v1/modules", timeout=5).status_code == 200:
                return server, base
        except httpx.HTTPError:
            time.sleep(0.05)
    raise AssertionError("sockdojo serve did not answer within 60 s")


def test_database_deleted_under_a_running_server(home: Path, processes: Processes) -> None:
    from web.test_workers_and_crash import Dojo

    server, base = start_server(processes)
    dojo = Dojo(f"sqlite:///{home / 'sockdojo.db'}", home)
    try:
        ada = dojo.hacker("ada")
        first, second, third = registry.CHALLENGES[:3]
        answer = dojo.submit(base, ada, first)
        assert answer.status_code == 200 and answer.json()["verdict"] == "solved"
    finally:
        dojo.store.dispose()
    # Under umask 022 too, everything the server made is its owner's only.
    made = {path.name: stat.S_IMODE(path.stat().st_mode) for path in home.iterdir()}
    assert {"session-key", "flag-secret", "sockdojo.db-wal", "sockdojo.db-shm"} <= set(made)
    assert made == dict.fromkeys(made, 0o600), made
    assert stat.S_IMODE(home.stat().st_mode) == 0o700

    # Deleted as `rm` would: the server still holds the file open.
    for path in home.glob("sockdojo.db*"):
        path.unlink()
    answer = dojo.submit(base, ada, second)
    assert answer.status_code == 503, answer.text
    assert "error" in answer.json()
    assert str(home) not in answer.text, "the server's paths were shown to a visitor"

    # A new database at the same path (another command made one) is not the one it opened.
    listed = subprocess.run(sockdojo_command("list"), capture_output=True, timeout=30, check=False)
    assert listed.returncode == 0
    assert dojo.submit(base, ada, third).status_code == 503
    page = api_contract.get(
        base + "/sockets/", timeout=10, cookies={"sockdojo_session": ada.cookie}
    )
    assert page.status_code == 503
    assert "cannot save or read anything" in page.text and str(home) not in page.text
    # The operator is told, in the sentence, on the server's console.
    assert "sockdojo.db was deleted or replaced" in processes.stop(server)


def test_disk_fills_under_a_running_server(
    disk: Path, disk_home: Path, processes: Processes
) -> None:
    """A solve that cannot be saved is a 503 (not a 500, not a "solved"), and the server
    takes solves again once there is room."""
    from web.test_workers_and_crash import Dojo

    server, base = start_server(processes)
    dojo = Dojo(f"sqlite:///{disk_home / 'sockdojo.db'}", disk_home)
    try:
        ada = dojo.hacker("ada")
    finally:
        dojo.store.dispose()
    first, second, third = registry.CHALLENGES[:3]
    assert dojo.submit(base, ada, first).json()["verdict"] == "solved"
    fill(disk)
    refused = dojo.submit(base, ada, second)
    assert refused.status_code == 503, refused.text
    assert "error" in refused.json()
    for filler in disk.glob("filler*"):
        filler.unlink()
    for challenge in (second, third):
        answer = dojo.submit(base, ada, challenge)
        assert answer.status_code == 200 and answer.json()["verdict"] == "solved", answer.text
    assert "is full" in processes.stop(server)
