"""How fast the reuse-address analysis judges a program (the corpus and mangled servers).

    .venv/bin/python bench/reuse_address_analysis.py [--rounds 20]

For each round, analyses every file of the test corpus once, then the same kind of mangled
servers the fuzz test makes (a deterministic set: each passing server with a piece cut out at
40 places), then one program that keeps the interpreter busy until its work budget ends (calls
that double at each level, as in the hostile-input test), and reports the best time per program
of each set over the rounds, in CPU time of this process (the machine is shared: wall time
varies with the neighbours' load, the best CPU time much less). The baseline, measured in the
same run, is `ast.parse` of the same bytes: the ratio analysis / parse says what the interpreter
and the judge cost on top of reading the file. Pure CPU, no I/O after the files are read; every
loop is bounded by the round count.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
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


def budget() -> list[bytes]:
    defs = [f"def f{i}(s):\n    f{i + 1}(s)\n    f{i + 1}(s)\n" for i in range(30)]
    return [("\n".join(defs) + "def f30(s):\n    s.bind(('', 1337))\nf0(1)\n").encode()]


def parse_only(data: bytes) -> None:
    with contextlib.suppress(SyntaxError, ValueError):
        ast.parse(data)


def per_program(programs: list[bytes], work: Callable[[bytes], object], rounds: int) -> float:
    """The best over rounds of the CPU time per program, in microseconds."""
    times = []
    for _ in range(rounds):
        start = time.process_time()
        for data in programs:
            work(data)
        times.append((time.process_time() - start) / len(programs) * 1e6)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    from sockdojo.challenges.reuse_address.analysis import analyze

    for name, programs in (("corpus", corpus()), ("mangled", mangled()), ("budget", budget())):
        analysis = per_program(programs, analyze, rounds)
        parse = per_program(programs, parse_only, rounds)
        print(
            f"{name:8} {len(programs):4} programs: analyze {analysis:8.1f} us/program, "
            f"ast.parse {parse:7.1f} us, x{analysis / parse:6.1f} the parse"
        )


if __name__ == "__main__":
    main()
