from __future__ import annotations

import stat
from pathlib import Path

import pytest

from sockdojo.errors import MachineProblem
from sockdojo.flags.secret import SECRET_FILE, load_or_create_secret


def test_secret_is_created_once_with_owner_only_mode(tmp_path: Path) -> None:
    first = load_or_create_secret(tmp_path)
    assert len(first) == 32
    mode = stat.S_IMODE((tmp_path / SECRET_FILE).stat().st_mode)
    assert mode == 0o600
    assert load_or_create_secret(tmp_path) == first


def test_loose_permissions_are_tightened(tmp_path: Path) -> None:
    load_or_create_secret(tmp_path)
    (tmp_path / SECRET_FILE).chmod(0o644)
    load_or_create_secret(tmp_path)
    assert stat.S_IMODE((tmp_path / SECRET_FILE).stat().st_mode) == 0o600


def test_damaged_secret_is_reported(tmp_path: Path) -> None:
    (tmp_path / SECRET_FILE).write_text("not hex")
    (tmp_path / SECRET_FILE).chmod(0o600)
    with pytest.raises(MachineProblem, match="damaged"):
        load_or_create_secret(tmp_path)
