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
def no_sandbox_litter(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """Temporary directories and cgroups made by the proof are gone afterwards.

    The proof makes its folders in a temporary folder of this test's own (world-writable and
    sticky, like /tmp, so a program confined as nobody can still be handed its files): another
    test run on the same machine cannot make this one's check fail.
    """
    import shutil
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="sockdojo-test-tmp-"))
    tmp.chmod(0o1777)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))

    def check() -> None:
        left = sorted(p.name for p in tmp.iterdir())
        assert not left, f"temporary directories left: {left}"

    try:
        yield check
        check()
    finally:
        monkeypatch.undo()
        shutil.rmtree(tmp, ignore_errors=True)
