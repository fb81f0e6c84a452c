from __future__ import annotations

from pathlib import Path

import pytest

from sockdojo.export.pwncollege import DojoExport, export_pwncollege


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> DojoExport:
    return export_pwncollege(tmp_path_factory.mktemp("export") / "dojo")


@pytest.fixture
def fresh_export(tmp_path: Path) -> DojoExport:
    """An export of the test's own, for tests that spoil it."""
    return export_pwncollege(tmp_path / "dojo")
