"""`sockdojo --help` from the kept text: the same as click's, and kept only while it still is."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from sockdojo.cli import help_cache
from sockdojo.cli.main import cli, render_help
from support import sockdojo_command


def _command_paths(group: click.Group, words: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield words
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            yield from _command_paths(command, (*words, name))
        else:
            yield (*words, name)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(help_cache, "_FOLDER", str(tmp_path))
    for name in [name for name in os.environ if name.startswith("SOCKDOJO_")]:
        monkeypatch.delenv(name)
    return tmp_path


def test_every_command_renders_what_click_prints_for_help() -> None:
    """The kept text is only ever this rendering, so it must be exactly what `--help` shows."""
    paths = list(_command_paths(cli))
    assert len(paths) > 10 and ("account", "add") in paths
    for words in paths:
        # What the command itself prints (CliRunner is not used: it renders to another width).
        shown = io.StringIO()
        with contextlib.redirect_stdout(shown):
            status = cli.main([*words, "--help"], prog_name="sockdojo", standalone_mode=False)
        assert status == 0, words
        assert render_help(words) == shown.getvalue(), words


def test_only_command_words_before_a_final_help_flag_are_a_help_request() -> None:
    assert help_cache.help_request(["--help"]) == ()
    assert help_cache.help_request(["account", "add", "-h"]) == ("account", "add")
    for args in (
        [],
        ["list"],
        ["--account", "bob", "--help"],
        ["../../etc", "--help"],
        ["run", "client", "--help", "x"],
        ["ru n", "--help"],
    ):
        assert help_cache.help_request(args) is None, args
    assert render_help(("no-such-command",)) is None
    assert render_help(("list", "extra")) is None


@pytest.mark.parametrize("package", ["sockdojo", "click"])
def test_a_kept_text_is_given_back_until_a_source_it_was_made_from_changes(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, package: str
) -> None:
    """Ours (an editable install) or click's (an upgrade)."""
    source = tmp_path / "probe.py"
    source.write_text("x = 1\n")
    probe = types.ModuleType(f"{package}._help_probe")
    probe.__file__ = str(source)
    monkeypatch.setitem(sys.modules, probe.__name__, probe)
    help_cache.remember(("list",), "the text\n")
    assert help_cache.cached(("list",)) == "the text\n"
    assert help_cache.cached(("show",)) is None
    source.write_text("x = 22\n")
    assert help_cache.cached(("list",)) is None


def test_a_kept_text_is_only_for_the_environment_it_was_made_in(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    help_cache.remember(("list",), "the text\n")
    monkeypatch.setenv("SOCKDOJO_ACCOUNT", "bob")
    assert help_cache.cached(("list",)) is None
    monkeypatch.delenv("SOCKDOJO_ACCOUNT")
    assert help_cache.cached(("list",)) == "the text\n"


def test_a_damaged_entry_is_not_used(folder: Path) -> None:
    help_cache.remember((), "the text\n")
    (entry,) = folder.iterdir()
    whole = entry.read_bytes()
    for damage in (b"", b"\xff\xfe", b"sockdojo-help 0\n\nold", whole[:20], whole[:-3]):
        entry.write_bytes(damage)
        assert help_cache.cached(()) is None
    entry.write_bytes(whole)
    assert help_cache.cached(()) == "the text\n"


def test_no_two_command_paths_share_an_entry(folder: Path) -> None:
    help_cache.remember(("account", "set-password"), "set-password's help\n")
    assert help_cache.cached(("account", "set-password")) == "set-password's help\n"
    for other in (("account", "set", "password"), ("account-set-password",)):
        assert help_cache.cached(other) is None, other


def test_an_unwritable_folder_keeps_nothing_and_help_still_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    monkeypatch.setattr(help_cache, "_FOLDER", str(blocked / "sub"))
    help_cache.remember((), "the text\n")
    assert help_cache.cached(()) is None
    assert list(tmp_path.iterdir()) == [blocked]


def test_the_second_help_does_not_import_click(home: Path) -> None:
    """The real command, twice: the same text, and the second run never imports click."""
    first = subprocess.run(
        sockdojo_command("run", "--help"), capture_output=True, text=True, timeout=30, check=False
    )
    assert first.returncode == 0 and "CHALLENGE" in first.stdout
    second = subprocess.run(
        [sys.executable, "-X", "importtime", *sockdojo_command("run", "--help")[1:]],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert second.returncode == 0
    assert second.stdout == first.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in second.stderr.splitlines()}
    assert "sockdojo.cli.entry" in imported
    assert "click" not in imported, "the kept help text was not used"


def test_a_refused_help_is_not_kept(home: Path) -> None:
    """click refuses an invalid --account before it shows a command's help: twice, not help
    from the second time on."""
    env = {**os.environ, "SOCKDOJO_ACCOUNT": "bad name!"}
    for _ in range(2):
        refused = subprocess.run(
            sockdojo_command("list", "--help"),
            capture_output=True,
            text=True,
            timeout=30,
            env=env,
            check=False,
        )
        assert refused.returncode == 2, refused.stdout
        assert "--account" in refused.stderr


def test_help_with_stdout_closed_is_quiet(home: Path) -> None:
    for _ in range(2):  # through click, then from the kept text
        done = subprocess.run(
            sockdojo_command("--help"),
            stdout=None,
            stderr=subprocess.PIPE,
            text=True,
            timeout=30,
            preexec_fn=lambda: os.close(1),
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
