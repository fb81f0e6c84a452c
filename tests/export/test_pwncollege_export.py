"""`sockdojo export pwncollege`: what it writes meets pwn.college's rules, and the vendored core
needs nothing but the standard library."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from sockdojo.challenges import registry
from sockdojo.export import dojo_rules
from sockdojo.export.pwncollege import DojoExport, to_yaml
from support import sockdojo_command

MODULE = registry.MODULE_ID


def problems_of(root: Path) -> list[str]:
    """The checker on the files as pwn.college reads them (yaml.safe_load, as dojo.py does)."""
    dojo = yaml.safe_load((root / "dojo.yml").read_text(encoding="utf-8"))
    modules = {}
    for entry in dojo.get("modules", []) if isinstance(dojo, dict) else []:
        path = root / str(entry.get("id")) / "module.yml"
        if path.is_file():
            modules[str(entry["id"])] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return dojo_rules.check_dojo(root, dojo, modules)


def test_the_export_meets_the_platforms_rules(exported: DojoExport) -> None:
    root = exported.root
    assert problems_of(root) == []
    # Read back as the platform reads it, the YAML is what we meant to write.
    assert yaml.safe_load((root / "dojo.yml").read_text()) == exported.dojo_yml
    assert yaml.safe_load((root / MODULE / "module.yml").read_text()) == exported.module_yml
    assert exported.dojo_yml["image"] == "pwncollege/challenge-simple"
    challenges = exported.module_yml["challenges"]
    assert isinstance(challenges, list)
    listed = [c["id"] for c in challenges]
    assert listed == [c.id for c in registry.CHALLENGES]
    for challenge in registry.CHALLENGES:
        run = root / MODULE / challenge.id / "run"
        assert run.read_text().splitlines()[0] == dojo_rules.SHEBANG
        assert run.stat().st_mode & 0o111 == 0o111


def _rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _unknown_key(root: Path) -> None:
    (root / "dojo.yml").write_text(
        (root / "dojo.yml").read_text() + 'scoreboard: "ours"\n', encoding="utf-8"
    )


def _unknown_challenge_key(root: Path) -> None:
    _rewrite(root / MODULE / "module.yml", '    name: "Your first client"', '    title: "x"')


def _bad_id(root: Path) -> None:
    _rewrite(root / "dojo.yml", 'id: "sockdojo"', 'id: "Sock_Dojo"')


def _bad_emoji(root: Path) -> None:
    _rewrite(root / "dojo.yml", 'emoji: "\U0001f50c"', 'emoji: "plug"')


def _no_shebang(root: Path) -> None:
    _rewrite(root / MODULE / "server" / "run", dojo_rules.SHEBANG, "#!/usr/bin/env python3")


def _not_executable(root: Path) -> None:
    (root / MODULE / "server-loop" / "run").chmod(0o644)


def _core_left_out(root: Path) -> None:
    (root / MODULE / "eight-ball" / "sockdojo" / "net" / "accept_loop.py").unlink()


def _symlink(root: Path) -> None:
    (root / MODULE / "client" / "flag").symlink_to("/flag")


def _no_description(root: Path) -> None:
    (root / MODULE / "reuse-address" / "DESCRIPTION.md").unlink()


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        (_unknown_key, "unknown key 'scoreboard'"),
        (_unknown_challenge_key, "unknown key 'title'"),
        (_bad_id, "'Sock_Dojo' does not match"),
        (_bad_emoji, "not one emoji"),
        (_no_shebang, "server/run does not start with"),
        (_not_executable, "server-loop/run is not executable"),
        (_core_left_out, "imports sockdojo.net.accept_loop, which is not vendored"),
        (_symlink, "client/flag: a symlink"),
        (_no_description, "reuse-address: DESCRIPTION.md is missing"),
    ],
)
def test_the_checker_refuses_what_the_platform_refuses(
    fresh_export: DojoExport, spoil: Callable[[Path], None], expected: str
) -> None:
    # The unspoilt export passes (test_the_export_meets_the_platforms_rules): spoil a copy.
    spoil(fresh_export.root)
    problems = problems_of(fresh_export.root)
    assert any(expected in p for p in problems), problems


def test_descriptions_use_the_platforms_commands(exported: DojoExport) -> None:
    module = exported.root / MODULE
    texts = {"module": (module / "DESCRIPTION.md").read_text()}
    for challenge in registry.CHALLENGES:
        texts[challenge.id] = (module / challenge.id / "DESCRIPTION.md").read_text()
        assert "/challenge/run" in texts[challenge.id], challenge.id
    for name, text in texts.items():
        assert "sockdojo run" not in text, name
        assert "sockdojo submit" not in text, name
    assert "    /challenge/run server.py\n" in texts["reuse-address"]
    assert "flag box of this challenge's page" in texts["client"]


# Imports every vendored module with nothing but the standard library importable: -I -S leaves
# out every site-packages folder, and a finder refuses any module that is neither the standard
# library nor ours (so that a vendored module that needs, say, click fails here).
_STANDARD_LIBRARY_ONLY = r"""
import importlib, importlib.abc, pathlib, sys

folder = pathlib.Path(sys.argv[1])

class StandardLibraryOnly(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in sys.stdlib_module_names or top == "sockdojo":
            return None
        raise ImportError(f"not the standard library: {name}")

sys.meta_path.insert(0, StandardLibraryOnly())
sys.path.insert(0, str(folder))
names = []
for path in sorted((folder / "sockdojo").rglob("*.py")):
    parts = path.relative_to(folder).with_suffix("").parts
    names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
for name in names:
    module = importlib.import_module(name)
    assert pathlib.Path(module.__file__).is_relative_to(folder), module.__file__
try:
    import click
except ImportError:
    pass
else:
    raise AssertionError("the finder let a third-party package through")
print(len(names))
"""


@pytest.mark.parametrize("challenge_id", [c.id for c in registry.CHALLENGES])
def test_the_vendored_core_imports_with_the_standard_library_alone(
    exported: DojoExport, challenge_id: str
) -> None:
    folder = exported.root / MODULE / challenge_id
    completed = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", _STANDARD_LIBRARY_ONLY, str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=folder,
    )
    assert completed.returncode == 0, completed.stderr
    assert int(completed.stdout) == len(exported.vendored)
    for package in ("challenges", "net", "sandbox", "mistakes"):
        assert f"sockdojo.{package}" in exported.vendored


def test_the_yaml_writer_round_trips_what_yaml_reads() -> None:
    document = {
        "id": "a-b",
        "name": 'quotes " and \\ and a colon: here',
        "emoji": "\U0001f50c",
        "Odd Key": ["one", {"two": "2", "three": []}, {}],
        "flag": True,
        "number": 7,
        "text": "two\nlines\tand a tab\x07",
    }
    assert yaml.safe_load(to_yaml(document)) == document


def test_the_command_writes_the_dojo(tmp_path: Path) -> None:
    target = tmp_path / "class-dojo"
    completed = subprocess.run(
        sockdojo_command("export", "pwncollege", str(target), "--dojo-id", "net-101",
                         "--name", "Networking 101"),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "sockets/reuse-address/" in completed.stdout
    dojo = yaml.safe_load((target / "dojo.yml").read_text())
    assert (dojo["id"], dojo["name"]) == ("net-101", "Networking 101")
    assert problems_of(target) == []

    again = subprocess.run(
        sockdojo_command("export", "pwncollege", str(target)),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert again.returncode == 2
    assert "is not empty" in again.stderr


@pytest.mark.parametrize(
    ("option", "value"), [("--dojo-id", "Net_101"), ("--dojo-id", "x" * 33), ("--name", "a\tb")]
)
def test_the_command_refuses_what_the_platform_refuses(
    tmp_path: Path, option: str, value: str
) -> None:
    completed = subprocess.run(
        sockdojo_command("export", "pwncollege", str(tmp_path / "d"), option, value),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert completed.returncode == 2
    assert "pwn.college's rule" in completed.stderr
    assert not (tmp_path / "d").exists()


def test_a_full_disk_ends_in_one_sentence(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], check=True)
    try:
        completed = subprocess.run(
            sockdojo_command("export", "pwncollege", str(disk / "dojo")),
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        subprocess.run(["umount", str(disk)], check=True)
    assert completed.returncode == 2, completed.stderr
    assert "is full" in completed.stderr
    assert "Traceback" not in completed.stderr
