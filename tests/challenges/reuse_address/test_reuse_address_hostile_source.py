"""Hostile source files for the analysis: codecs it cannot decode, and big-number arithmetic."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from sockdojo.challenges.reuse_address.analysis import MAX_SOURCE_BYTES, analyze

SERVER = b"import socket\ns = socket.socket()\ns.bind(('127.0.0.1', 1337))\ns.listen()\n"


@pytest.mark.parametrize(
    "declaration",
    [b"# coding: punycode\n", b"# -*- coding: nonesuch -*-\n", b"# coding: rot13\n"],
)
def test_an_encoding_it_cannot_decode_is_not_text(declaration: bytes) -> None:
    analysis = analyze(declaration + SERVER)
    assert [item.code for item in analysis.findings] == ["file-not-text"]
    assert not analysis.runnable
    assert "encoding declaration" in analysis.findings[0].explanation


def test_a_punycode_file_still_gets_json(
    tmp_path: Path, cli: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    path = tmp_path / "server.py"
    path.write_bytes(b"# coding: punycode\n" + SERVER)
    completed = cli("run", "reuse-address", str(path), "--json", "--no-run")
    document = json.loads(completed.stdout)
    assert completed.returncode == 1, completed.stderr
    codes = [item["code"] for item in document["analysis"]["findings"]]
    assert codes == ["file-not-text"]


def _big_number_file() -> bytes:
    # A function doing one division of two huge literals, called until the file is full: each
    # call is a handful of steps, but tens of milliseconds of arithmetic.
    head = f"def f():\n    return 0x{'f' * 40000} % 0x{'e' * 20000}\n".encode()
    calls = (MAX_SOURCE_BYTES - len(head) - len(SERVER)) // 4
    return head + b"f()\n" * calls + SERVER


def test_big_number_arithmetic_counts_against_the_work_budget() -> None:
    data = _big_number_file()
    assert len(data) <= MAX_SOURCE_BYTES
    analysis = analyze(data)
    codes = [item.code for item in analysis.findings]
    assert "cannot-follow" in codes
    assert any("work limit" in item.explanation for item in analysis.findings)
