"""Fixtures for the sandbox tests: a marker to find leftover processes, and namespace checks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from sockdojo.sandbox import private_network
from support import processes_mentioning


@pytest.fixture
def marked_name() -> Iterator[str]:
    """A unique program name; afterwards, no process may still mention it."""
    name = f"sandboxed-{uuid.uuid4().hex[:12]}.py"
    yield name
    left = processes_mentioning(name)
    assert not left, f"processes left behind: {left}"


@pytest.fixture
def needs_netns() -> None:
    if private_network() is None:
        pytest.skip("this machine allows no private network namespace")
