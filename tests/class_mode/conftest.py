"""A web dojo in this process over SQLite and PostgreSQL, with helpers for class mode."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from class_mode.harness import ClassHarness
from sockdojo.flags import HmacFlagAuthority
from sockdojo.storage.database import Store
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
