"""A web dojo in this process over SQLite and PostgreSQL, with helpers for class mode."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from class_mode.harness import ClassHarness
from class_mode.laptops import PASSWORD, ClassServer, Laptop, start_class_server
from class_mode.network import ClassNetwork
from sockdojo.flags import HmacFlagAuthority
from sockdojo.storage.database import Store
from support import Processes, sockdojo_command
from web.conftest import Clock


@pytest.fixture
def class_dojo(database_url: str, clock_now: Clock) -> Iterator[ClassHarness]:
    store = Store(database_url)
    harness = ClassHarness(store, HmacFlagAuthority(b"class-test-secret-0123456789abc"), clock_now)
    harness.launch(clock_now.now - dt.timedelta(days=90))
    yield harness
    for client in harness.clients:
        client.close()
    store.dispose()


@pytest.fixture
def clock_now() -> Clock:
    """The real time, movable: PostgreSQL and SQLite rows compare with it."""
    return Clock(dt.datetime.now(dt.UTC))


@pytest.fixture
def class_network(processes: Processes) -> Iterator[ClassNetwork]:
    """Set up after `processes`, so taken down before it: the laptops' namespaces go first."""
    network = ClassNetwork.create()
    try:
        yield network
    finally:
        network.close()


@pytest.fixture
def laptops(
    tmp_path: Path, processes: Processes, class_network: ClassNetwork
) -> Callable[[str], Laptop]:
    """`laptops(name)`: a new laptop, with its own home, config and network namespace."""

    def make(name: str) -> Laptop:
        return Laptop(name, tmp_path / name, processes, class_network.join())

    return make


@pytest.fixture
def class_server(
    tmp_path: Path, processes: Processes, class_network: ClassNetwork
) -> Iterator[ClassServer]:
    """The class server on the class network, with a teacher (an admin)."""
    home = tmp_path / "server"
    env = {**os.environ, "SOCKDOJO_HOME": str(home), "NO_COLOR": "1"}
    made = subprocess.run(
        sockdojo_command("account", "add", "teacher", "--admin", "--password-stdin"),
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    server = start_class_server(processes, home, host=class_network.server_address)
    yield server
    processes.stop(server.process)
