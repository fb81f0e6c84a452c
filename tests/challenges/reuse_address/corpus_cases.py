"""The corpus's expectations (corpus/expectations.toml), one case per learner program."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import NotRequired, TypedDict, cast

CORPUS = Path(__file__).parent / "corpus"


class Case(TypedDict):
    file: str  # the program, in the corpus
    about: str
    verdict: str  # "pass" or "fail": the static analysis's
    codes: list[str]  # the analysis's finding codes
    proof: NotRequired[str]  # the proof's outcome, for the programs it runs


# The file is ours, but TOML comes back untyped: the tests read each case as these fields.
CASES = cast(list[Case], tomllib.loads((CORPUS / "expectations.toml").read_text())["case"])
