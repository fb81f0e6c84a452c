"""Randomized stress of the `server` and `server-loop` checkers (issue 9).

    .venv/bin/python bench/checker_stress.py [--runs 1000] [--seed 1]

Each run starts a learner server (tests/learners/misbehaving_server.py, mode `random`) that,
per connection and by its seed, exits before accept(), closes at once, resets, reads a few
bytes and closes, sleeps a moment and closes, or reads everything. The server says what it did
on each connection, so the right verdict is known: `server` passes exactly when the server read
the flag's connection whole; `server-loop` exactly when it read all three. A run fails the
stress if a checker raises (which the CLI would show as a traceback before issue 9), gives the
wrong verdict, or the flag reaches a server whose verdict is a failure.

The baseline, measured in the same run, is the checker against a correct server: the time of a
misbehaving run against it tells what the extra observation costs. Traffic stays on
127.0.0.1; every loop is bounded in count and time. Exit status 1 if any run went wrong.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LEARNER = ROOT / "tests" / "learners" / "misbehaving_server.py"
sys.path.insert(0, str(ROOT / "src"))

from sockdojo.challenges.outcome import CheckResult  # noqa: E402
from sockdojo.challenges.server import check_server  # noqa: E402
from sockdojo.challenges.server_loop import CONNECTIONS, check_server_loop  # noqa: E402
from sockdojo.net.transcript import Transcript  # noqa: E402

FLAG = b"sockdojo{AQACAAAAAAHGYDct1elHym7VPcHnNdFE}\n"
Checker = Callable[[str, int, Callable[[], bytes], str, Transcript], CheckResult]
Run = tuple[str, float, bool, bool]  # what happened, seconds, verdict right, flag leaked


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_listening(process: subprocess.Popen[str], port: int) -> None:
    """Connect until it answers: only for servers that serve any number of connections."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket() as probe:
            probe.settimeout(0.2)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.01)
    raise RuntimeError("the learner server did not start")


def start(mode: str, port: int, seed: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-u", str(LEARNER), mode, str(port), seed],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def one_run(checker: Checker, seed: str, connections: int) -> Run:
    port = free_port()
    server = start("random", port, seed)
    try:
        # The random server's choices are made per connection it accepts; a probe connection
        # of ours would use one up, so wait for the listener through the kernel instead.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    break  # bound: the server is up (listening a moment later)
            time.sleep(0.01)
        time.sleep(0.05)
        started = time.monotonic()
        try:
            result = checker("127.0.0.1", port, lambda: FLAG, "sockdojo", Transcript())
        except Exception as error:  # the very thing this stress looks for
            return f"raised {type(error).__name__}: {error}", 0.0, False, False
        seconds = time.monotonic() - started
    finally:
        server.kill()
        output, _ = server.communicate(timeout=10)
    did = [line.split()[1] for line in output.splitlines() if line.startswith("did ")]
    should_pass = len(did) >= connections and all(d == "read" for d in did[:connections])
    leaked = not result.passed and FLAG.decode().strip() in output
    code = result.diagnosis.code if result.diagnosis else "passed"
    right = result.passed == should_pass
    return f"{'/'.join(did[:connections]) or 'nothing'} -> {code}", seconds, right, leaked


def baseline(checker: Checker, rounds: int) -> float:
    """The checker's median time against a correct server loop (tests/learners/loop_server.py)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-u", str(ROOT / "tests" / "learners" / "loop_server.py"), str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    times = []
    try:
        wait_listening(server, port)
        for _ in range(rounds):
            started = time.monotonic()
            result = checker("127.0.0.1", port, lambda: FLAG, "sockdojo", Transcript())
            times.append(time.monotonic() - started)
            if not result.passed:
                raise RuntimeError(f"the baseline server failed: {result.diagnosis}")
    finally:
        server.kill()
        server.communicate(timeout=10)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000, help="runs per checker")
    parser.add_argument("--seed", default="1")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once (each on its own port)")
    args = parser.parse_args()
    failures = 0
    for name, checker, connections in (
        ("server", check_server, 1),
        ("server-loop", check_server_loop, CONNECTIONS),
    ):
        outcomes: collections.Counter[str] = collections.Counter()
        times = []
        wrong = leaks = raised = 0
        began = time.monotonic()

        def runner(run: int, c: Checker = checker, n: str = name, k: int = connections) -> Run:
            return one_run(c, f"{args.seed}-{n}-{run}", k)

        with concurrent.futures.ThreadPoolExecutor(max(args.jobs, 1)) as pool:
            results = list(pool.map(runner, range(args.runs)))
        for run, (what, seconds, right, leaked) in enumerate(results):
            outcomes[what.split(" -> ")[1] if " -> " in what else what] += 1
            if what.startswith("raised"):
                raised += 1
                print(f"  run {run}: {what}")
            elif not right:
                wrong += 1
                print(f"  run {run}: wrong verdict: {what}")
            if leaked:
                leaks += 1
                print(f"  run {run}: the flag reached a failing server: {what}")
            if seconds:
                times.append(seconds)
        reference = baseline(checker, 5)
        failures += wrong + leaks + raised
        median = statistics.median(times) if times else 0.0
        p99 = sorted(times)[int(len(times) * 0.99) - 1] if times else 0.0
        print(
            f"{name}: {args.runs} runs in {time.monotonic() - began:.0f} s; raised {raised}, "
            f"wrong verdicts {wrong}, flags leaked {leaks}"
        )
        print(
            f"  check time median {median * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms; against a "
            f"correct server {reference * 1000:.0f} ms ({median / reference:.1f}x)"
        )
        for verdict, count in outcomes.most_common():
            print(f"    {count:5d}  {verdict}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
