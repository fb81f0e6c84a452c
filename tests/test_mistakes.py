"""The one catalogue of learner mistakes: every code is produced somewhere, every code produced
is catalogued with the facts its texts need, and the README lists them all."""

from __future__ import annotations

import ast
from pathlib import Path

import sockdojo
from sockdojo.mistakes import CATALOGUE, diagnose, fields_of

PACKAGE = Path(sockdojo.__file__).parent
README = PACKAGE.parent.parent / "README.md"


def _sources() -> dict[Path, ast.Module]:
    return {
        path: ast.parse(path.read_text(encoding="utf-8"))
        for path in PACKAGE.rglob("*.py")
        if "mistakes" not in path.relative_to(PACKAGE).parts
    }


def _diagnose_calls() -> list[tuple[Path, ast.Call]]:
    calls = []
    for path, tree in _sources().items():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "diagnose"
            ):
                calls.append((path, node))
    return calls


def test_every_diagnose_call_names_a_catalogued_code_with_its_facts() -> None:
    calls = _diagnose_calls()
    assert len(calls) > 20
    for path, call in calls:
        first = call.args[0]
        given = {k.arg for k in call.keywords if k.arg is not None}
        if any(k.arg is None for k in call.keywords):
            given |= {"where", "host", "port"}  # the `**facts` of the address
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            codes = [first.value]
        else:  # the proof's outcome looked up in a table: every proof code must be filled
            codes = [code for code in CATALOGUE if code.startswith("proof-")]
        for code in codes:
            assert code in CATALOGUE, f"{path.name}: {code!r} is not in the catalogue"
            missing = fields_of(code) - given
            assert not missing, f"{path.name}:{call.lineno} {code} lacks {sorted(missing)}"


def test_every_catalogued_code_is_produced_somewhere() -> None:
    mentioned = {
        node.value
        for tree in _sources().values()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    never = sorted(set(CATALOGUE) - mentioned)
    assert not never, f"catalogued but never produced: {never}"


def test_the_readme_lists_every_code() -> None:
    text = README.read_text(encoding="utf-8")
    missing = sorted(code for code in CATALOGUE if f"`{code}`" not in text)
    assert not missing, f"not in the README: {missing}"


def test_a_missing_fact_is_our_bug_not_a_message() -> None:
    try:
        diagnose("partly-read", read=1)
    except KeyError:
        return
    raise AssertionError("a diagnosis with a missing fact must not be rendered")
