"""Fixtures shared by the whole suite: a private data directory, free ports, real processes."""

from __future__ import annotations

import gc
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support import Processes, free_port, processes_mentioning, run_sockdojo


def pytest_collection_finish(session: pytest.Session) -> None:
    # Every test module is imported by now, with SQLAlchemy, Starlette, Playwright, Hypothesis
    # and the rest: about 190,000 objects that live to the end. Out of the collector's reach
    # (as `sockdojo serve --workers` does before it forks), they are not walked again at every
    # full collection; in the whole suite those walks had cost a test such as the export's
    # checks three times what it pays alone (figures in the README's "The suite's time").
    gc.collect()
    gc.freeze()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh SOCKDOJO_HOME for this test (and for the processes it starts)."""
    data = tmp_path / "home"
    monkeypatch.setenv("SOCKDOJO_HOME", str(data))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("SOCKDOJO_ACCOUNT", raising=False)
    monkeypatch.delenv("SOCKDOJO_DATABASE_URL", raising=False)
    return data


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def cli(home: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real `sockdojo` command to completion."""

    def run(
        *args: str, timeout: float = 30, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_sockdojo(*args, input=input, timeout=timeout)

    return run


@pytest.fixture
def processes(home: Path) -> Iterator[Processes]:
    tracker = Processes()
    try:
        yield tracker
    finally:
        tracker.cleanup()


POSTGRES_URL = os.environ.get("SOCKDOJO_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each store test runs on the embedded SQLite and on a real PostgreSQL (own schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'dojo.db'}"
        return
    if not POSTGRES_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but SOCKDOJO_TEST_POSTGRES_URL is not set (see scripts/test)")
        pytest.skip("no PostgreSQL: run ./scripts/test, which starts the local cluster")
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def marked_name() -> Iterator[str]:
    """A unique file name for a sandboxed program; afterwards no process may still mention it."""
    name = f"learner-{uuid.uuid4().hex[:12]}.py"
    yield name
    left = processes_mentioning(name)
    assert not left, f"processes left behind: {left}"


@pytest.fixture
def needs_netns() -> None:
    from sockdojo.sandbox import private_network

    if private_network() is None:
        pytest.skip("this machine allows no private network namespace")
