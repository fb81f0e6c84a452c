"""Fixtures for the reuse-address tests: the corpus, free ports, no leftover temp dirs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import support

CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture
def corpus() -> Path:
    return CORPUS


@pytest.fixture
def free_port() -> int:
    """A port nobody listens on now: tests on the host never use the fixed 1337."""
    return support.free_port()


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
