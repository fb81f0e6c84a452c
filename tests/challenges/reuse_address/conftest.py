"""Fixtures for the reuse-address tests: the corpus, free ports, and a leftover-process check."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sockdojo.sandbox import private_network
from support import processes_mentioning

CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture
def corpus() -> Path:
    return CORPUS


@pytest.fixture
def free_port() -> int:
    """A port nobody listens on now: tests on the host never use the fixed 1337."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def marked_name() -> Iterator[str]:
    """A unique file name for the program; afterwards, no process may still mention it."""
    name = f"learner-{uuid.uuid4().hex[:12]}.py"
    yield name
    left = processes_mentioning(name)
    assert not left, f"processes left behind: {left}"


@pytest.fixture
def needs_netns() -> None:
    if private_network() is None:
        pytest.skip("this machine allows no private network namespace")


@pytest.fixture
def no_sandbox_litter() -> Iterator[Callable[[], None]]:
    """Temporary directories and cgroups made by the proof are gone afterwards."""
    import tempfile

    tmp = Path(tempfile.gettempdir())
    before = {p.name for p in tmp.glob("sockdojo-proof-*")}

    def check() -> None:
        after = {p.name for p in tmp.glob("sockdojo-proof-*")}
        assert after <= before, f"temporary directories left: {after - before}"

    yield check
    check()
