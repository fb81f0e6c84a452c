"""How fast the reuse-address analysis judges a program (the corpus and mangled servers).

    .venv/bin/python bench/reuse_address_analysis.py [--rounds 20]

For each round, analyses every file of the test corpus once, then the same mangled servers the
fuzz test makes (a deterministic set: each passing server with a piece cut out at 40 places),
and reports the median time per program of each set. The baseline, measured in the same run,
is `ast.parse` of the same bytes: the ratio analysis / parse says what the interpreter and the
judge cost on top of reading the file, whatever the machine's load. Pure CPU, no I/O after the
files are read; every loop is bounded by the round count.
"""

from __future__ import annotations

import argparse
import ast
import statistics
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "src"))
CORPUS = ROOT / "tests" / "challenges" / "reuse_address" / "corpus"


def corpus() -> list[bytes]:
    return [p.read_bytes() for p in sorted(CORPUS.glob("*.py"))]


def mangled() -> list[bytes]:
    cases = tomllib.loads((CORPUS / "expectations.toml").read_text())["case"]
    servers = [(CORPUS / c["file"]).read_bytes() for c in cases if c["verdict"] == "pass"]
    found = []
    for source in servers:
        for index in range(40):
            at = (index * 7919) % max(len(source), 1)
            length = 1 + (index * 13) % 40
            found.append(source[:at] + source[at + length :])
    return found


def parse_only(data: bytes) -> None:
    try:
        ast.parse(data)
    except (SyntaxError, ValueError):
        pass


def per_program(programs: list[bytes], work: Callable[[bytes], object], rounds: int) -> float:
    """Median over rounds of the time per program, in microseconds."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for data in programs:
            work(data)
        times.append((time.perf_counter() - start) / len(programs) * 1e6)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    from sockdojo.challenges.reuse_address.analysis import analyze

    for name, programs in (("corpus", corpus()), ("mangled", mangled())):
        analysis = per_program(programs, analyze, rounds)
        parse = per_program(programs, parse_only, rounds)
        print(
            f"{name:8} {len(programs):4} programs: analyze {analysis:8.1f} us/program, "
            f"ast.parse {parse:7.1f} us, x{analysis / parse:5.1f} the parse"
        )


if __name__ == "__main__":
    main()
