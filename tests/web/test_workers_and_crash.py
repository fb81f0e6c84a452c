"""Real `sockdojo serve` processes on one database (SQLite, and PostgreSQL when there is one).

* Several web processes stay exact: a solve taken through one shows in the next answer of any
  other (each keeps its own live scoreboard and catches up with the database per request).
* Nothing acknowledged is lost: SIGKILL the server in the middle of a burst of flag
  submissions, start it again, and every solve a client was told about is there.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import itsdangerous
import pytest

import api_contract
from sockdojo.challenges import registry
from sockdojo.flags import HmacFlagAuthority, load_or_create_secret
from sockdojo.storage import accounts
from sockdojo.storage.database import Store
from sockdojo.storage.models import Solve
from sockdojo.storage.web_auth import open_session
from sockdojo.web.keys import load_or_create_session_key
from support import Processes, serve_dojo

SCOREBOARD = "/api/v1/modules/sockets/scoreboard"
SUBMIT = "/api/v1/modules/sockets/submissions"


@dataclass(frozen=True)
class Hacker:
    id: int
    name: str
    cookie: str
    csrf: str


class Dojo:
    """The database, the secrets in SOCKDOJO_HOME, and signed-in hackers for HTTP requests."""

    def __init__(self, url: str, home: Path) -> None:
        self.store = Store(url)
        self.home = home
        self.authority = HmacFlagAuthority(load_or_create_secret(home))
        self.signer = itsdangerous.TimestampSigner(load_or_create_session_key(home))

    def hacker(self, name: str) -> Hacker:
        account = accounts.create(self.store, name)
        csrf = secrets.token_urlsafe(16)
        with self.store.session() as session:
            token = open_session(session, account.id, dt.datetime.now(dt.UTC))
        payload = base64.b64encode(json.dumps({"sid": token, "csrf": csrf}).encode())
        return Hacker(account.id, name, self.signer.sign(payload).decode(), csrf)

    def submit(self, base: str, hacker: Hacker, challenge: registry.Challenge) -> httpx.Response:
        return api_contract.post(
            base + SUBMIT,
            json={"flag": self.authority.mint(hacker.id, challenge.number)},
            headers={"X-CSRF-Token": hacker.csrf},
            cookies={"sockdojo_session": hacker.cookie},
            timeout=20,
        )

    def solved(self) -> set[tuple[int, str]]:
        with self.store.session() as session:
            return {(s.account_id, s.challenge_id) for s in session.query(Solve)}


@pytest.fixture
def dojo(database_url: str, home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dojo]:
    monkeypatch.setenv("SOCKDOJO_DATABASE_URL", database_url)
    home.mkdir(parents=True, exist_ok=True)
    made = Dojo(database_url, home)
    yield made
    made.store.dispose()


def serve(processes: Processes, *extra: str) -> tuple[subprocess.Popen[str], str]:
    return serve_dojo(processes, *extra)


def scores(base: str, days: int = 30) -> dict[str, int]:
    answer = api_contract.get(base + SCOREBOARD, params={"days": days}, timeout=20)
    answer.raise_for_status()
    return {row["hacker"]: row["score"] for row in answer.json()["rows"]}


def test_a_solve_through_one_process_shows_in_the_others_next_answer(
    dojo: Dojo, processes: Processes
) -> None:
    first, second = dojo.hacker("first"), dojo.hacker("second")
    _, one = serve(processes)
    _, other = serve(processes)
    _, pair = serve(processes, "--workers", "2")
    assert scores(one) == scores(other) == scores(pair) == {}
    for number, challenge in enumerate(registry.CHALLENGES[:3], start=1):
        via, hacker = (one, first) if number % 2 else (other, second)
        answer = dojo.submit(via, hacker, challenge)
        assert answer.status_code == 200 and answer.json()["verdict"] == "solved"
        expected = scores(via)
        assert expected[hacker.name] >= 1
        # The very next answer of each other process, and of every worker of the pair
        # (each request on a new connection, so the kernel spreads them over both).
        assert scores(one) == scores(other) == expected
        for _ in range(8):
            assert scores(pair) == expected
    # And a solve through one of the pair's workers reaches the single processes.
    answer = dojo.submit(pair, first, registry.CHALLENGES[4])
    assert answer.json()["verdict"] == "solved"
    assert scores(one) == scores(other) == scores(pair) == {"first": 3, "second": 1}


def test_every_acknowledged_solve_survives_a_sigkill_during_a_burst(
    dojo: Dojo, processes: Processes
) -> None:
    hackers = [dojo.hacker(f"h{n}") for n in range(40)]
    server, base = serve(processes, "--workers", "2")
    work = [(hacker, challenge) for challenge in registry.CHALLENGES for hacker in hackers]
    acknowledged: list[tuple[int, str]] = []
    lock = threading.Lock()
    killed = threading.Event()

    def submitter(share: list[tuple[Hacker, registry.Challenge]]) -> None:
        for hacker, challenge in share:
            if killed.is_set():
                return
            try:
                answer = dojo.submit(base, hacker, challenge)
            except httpx.HTTPError:
                continue  # the server died under this request: not acknowledged
            if answer.status_code == 200 and answer.json()["verdict"] == "solved":
                with lock:
                    acknowledged.append((hacker.id, challenge.id))

    threads = [threading.Thread(target=submitter, args=(work[n::8],)) for n in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(server.pid, signal.SIGKILL)  # the whole group: the supervisor and its workers
    killed.set()
    server.wait(timeout=10)
    for thread in threads:
        thread.join(timeout=30)
    assert len(acknowledged) >= 40, "the burst did not get going"
    assert len(acknowledged) < len(work), "the server was killed after the burst, not during"

    assert set(acknowledged) <= dojo.solved()
    # And the restarted dojo counts them all: each hacker's own row on the all-time board.
    _, base = serve(processes)
    for hacker in hackers:
        mine = sum(1 for account, _ in acknowledged if account == hacker.id)
        answer = api_contract.get(
            base + SCOREBOARD,
            params={"days": 0},
            cookies={"sockdojo_session": hacker.cookie},
            timeout=20,
        ).json()
        assert (answer["me"]["score"] if answer["me"] else 0) >= mine
