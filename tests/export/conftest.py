from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from sockdojo.export.pwncollege import DojoExport, export_pwncollege


@pytest.fixture(scope="session")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> DojoExport:
    """One export for the whole run (writing one takes seconds); never changed."""
    return export_pwncollege(tmp_path_factory.mktemp("export") / "dojo")


@pytest.fixture
def exported(pristine: DojoExport) -> DojoExport:
    return pristine


@pytest.fixture
def fresh_export(pristine: DojoExport, tmp_path: Path) -> DojoExport:
    """A copy of the export of the test's own, for tests that spoil it."""
    root = tmp_path / "dojo"
    shutil.copytree(pristine.root, root, symlinks=True)
    return dataclasses.replace(pristine, root=root)
