"""A PostgreSQL that stops answering (issue 11, item 5): a clear 503, soon; static files served.

The dojo reaches the shared test cluster through a TCP proxy of ours, a real process that the
test freezes with SIGSTOP, as a stopped server hangs: connections stay open, the kernel keeps
acknowledging, nothing comes back.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

import api_contract
from support import Processes, free_port, serve_dojo

PROXY = Path(__file__).with_name("tcp_proxy.py")
PAGES = ["/sockets/", "/api/v1/modules/sockets/scoreboard", "/", "/sockets/client/"]


@pytest.fixture
def frozen_proxy(database_url: str, processes: Processes) -> Iterator[tuple[str, int]]:
    """The test's PostgreSQL URL through a proxy; the proxy's pid."""
    url = make_url(database_url)
    port = free_port()
    proxy = processes.start(
        [sys.executable, "-u", str(PROXY), str(port), str(url.host), str(url.port or 5432)]
    )
    assert proxy.stdout is not None and proxy.stdout.readline().strip() == "listening"
    try:
        yield url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False), proxy.pid
    finally:
        os.kill(proxy.pid, signal.SIGCONT)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("workers", ["1", "2"], ids=["one-process", "two-workers"])
def test_a_hung_database_gets_a_clear_503_and_static_files_still_serve(
    frozen_proxy: tuple[str, int],
    workers: str,
    processes: Processes,
    monkeypatch: pytest.MonkeyPatch,
    home: Path,
) -> None:
    proxied, proxy_pid = frozen_proxy
    monkeypatch.setenv("SOCKDOJO_DATABASE_URL", proxied)
    _, base = serve_dojo(processes, "--workers", workers)
    for page in PAGES:
        assert api_contract.get(base + page, timeout=30).status_code == 200, page

    os.kill(proxy_pid, signal.SIGSTOP)
    answers: dict[int, httpx.Response] = {}

    def probe(number: int) -> None:
        answers[number] = api_contract.get(base + PAGES[number % len(PAGES)], timeout=60)

    # More requests than there are database threads: every one is answered all the same.
    probes = [threading.Thread(target=probe, args=(n,)) for n in range(40)]
    for thread in probes:
        thread.start()
    # Meanwhile, static files come from the disk, not the database.
    statics = [api_contract.get(base + "/static/style.css", timeout=30) for _ in range(10)]
    for thread in probes:
        thread.join(timeout=120)
    assert all(answer.status_code == 200 for answer in statics)
    assert len(answers) == 40
    for number, answer in answers.items():
        assert answer.status_code == 503, (PAGES[number % len(PAGES)], answer.text[:300])
        assert answer.headers["retry-after"]
        assert answer.headers["x-content-type-options"] == "nosniff"
        if PAGES[number % len(PAGES)].startswith("/api/"):
            assert "database did not answer" in answer.json()["error"]
        else:
            assert "database did not answer" in answer.text
            assert answer.headers["content-type"].startswith("text/html")

    os.kill(proxy_pid, signal.SIGCONT)
    # Once the database answers again, so does the dojo (bounded wait for the stuck threads).
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if api_contract.get(base + PAGES[0], timeout=30).status_code == 200:
            break
        time.sleep(0.2)
    for page in PAGES:
        assert api_contract.get(base + page, timeout=30).status_code == 200, page


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_the_web_dojos_statements_have_a_server_side_timeout(database_url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from sockdojo.storage.database import Store
    from sockdojo.web.server import limit_statements

    store = Store(database_url)
    try:
        limit_statements(store, milliseconds=200)
        with store.engine.connect() as connection:
            assert connection.execute(text("SHOW statement_timeout")).scalar() == "200ms"
            with pytest.raises(OperationalError, match="statement timeout"):
                connection.execute(text("SELECT pg_sleep(5)"))
    finally:
        store.dispose()
