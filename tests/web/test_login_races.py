"""Login and registration limits under a burst (issue 11, items 3 and 4).

Real `sockdojo serve` processes (one, and two gunicorn workers) on SQLite and PostgreSQL, the
default Argon2 costs, and 40 clients released at once by one barrier, as an attacker would.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

import api_contract
from sockdojo.storage.database import Store
from sockdojo.storage.models import LoginAttempt
from sockdojo.web.dojo import WebLimits
from support import Processes, burst, serve_dojo

BURST = 40
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
RIGHT = "the right password"


def _burst(base: str, form: Callable[[int], dict[str, str]], path: str) -> list[httpx.Response]:
    """POST `form(i)` to `path` from 40 browsers at once; their answers."""
    clients = [api_contract.client(base_url=base, timeout=120) for _ in range(BURST)]
    tokens = [CSRF_INPUT.findall(client.get(path).text)[0] for client in clients]
    try:
        return burst(
            BURST,
            lambda n: clients[n].post(path, data={"csrf_token": tokens[n], **form(n)}),
            timeout=180,
        )
    finally:
        for client in clients:
            client.close()


@pytest.fixture(params=["1", "2"], ids=["one-process", "two-workers"])
def workers(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def with_database(database_url: str, home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SOCKDOJO_DATABASE_URL", database_url)
    return database_url


def test_a_burst_of_wrong_logins_gets_no_more_checks_than_the_limit(
    with_database: str,
    workers: str,
    processes: Processes,
    cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    made = cli("account", "add", "victim", "--password-stdin", input=RIGHT + "\n")
    assert made.returncode == 0, made.stderr
    _, base = serve_dojo(processes, "--workers", workers)
    answers = _burst(base, lambda _n: {"name": "victim", "password": "a wrong password"}, "/login")
    checked = [answer for answer in answers if answer.status_code == 400]
    refused = [answer for answer in answers if answer.status_code == 429]
    limit = WebLimits().login_failures_per_name
    # The limit, exactly: each checked attempt was reserved before its check. (Some may be
    # refused as busy, 429 too, and are not counted.)
    assert 1 <= len(checked) <= limit
    assert len(checked) + len(refused) == BURST
    store = Store(with_database)
    try:
        with store.session() as session:
            stored = session.query(LoginAttempt).filter_by(kind="login").count()
    finally:
        store.dispose()
    assert stored == len(checked)
    # The right password, now, is refused too: the limit holds until the period has passed.
    client = api_contract.client(base_url=base, timeout=60)
    token = CSRF_INPUT.findall(client.get("/login").text)[0]
    late = client.post("/login", data={"csrf_token": token, "name": "victim", "password": RIGHT})
    client.close()
    assert late.status_code == 429


def test_a_burst_of_registrations_from_one_address_gets_the_limit(
    with_database: str, workers: str, processes: Processes
) -> None:
    _, base = serve_dojo(processes, "--workers", workers)
    password = "a long enough password"
    answers = _burst(
        base,
        lambda n: {"name": f"learner{n:02d}x", "password": password, "confirm": password},
        "/register",
    )
    made = [answer for answer in answers if answer.status_code == 303]
    limit = WebLimits().registrations_per_client
    assert 1 <= len(made) <= limit
    assert all(answer.status_code in (303, 429) for answer in answers)
    store = Store(with_database)
    try:
        with store.session() as session:
            from sockdojo.storage.models import Account

            assert session.query(Account).count() == len(made)
    finally:
        store.dispose()
