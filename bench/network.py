"""Network benchmarks for issue 2, each beside a baseline measured in the same run.

    .venv/bin/python bench/network.py [--quick]

1. server-loop checker wall time against a correct learner server: ours versus a checker that
   connects like the original (3 connections, 2 s apart).
2. eight-ball sessions per second at 1, 100 and 1,000 concurrent clients: our server (the real
   `sockdojo run eight-ball` process) versus a bare uvloop server, a bare asyncio server and a
   blocking single-threaded accept loop speaking the same protocol, in alternating rounds.
3. The client challenge under an idle flood: a real client's wait for its flag while 5,000
   silent connections are open (more than the server's 4,096 slots), beside the same wait on
   an idle server.

Traffic stays on 127.0.0.1; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
LEARNER_LOOP = ROOT / "tests" / "learners" / "loop_server.py"
sys.path.insert(0, str(ROOT / "src"))

from processes import start, stop  # noqa: E402

from sockdojo.challenges.server_loop import check_server_loop  # noqa: E402
from sockdojo.net.connect import connect_with_retry  # noqa: E402
from sockdojo.net.transcript import Transcript  # noqa: E402

FLAG = b"sockdojo{bench}\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_port(port: int) -> None:
    with connect_with_retry("127.0.0.1", port, window=15, interval=0.05):
        pass


def original_style_checker(port: int, connections: int = 3, gap: float = 2.0) -> None:
    for number in range(1, connections + 1):
        if number > 1:
            time.sleep(gap)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(FLAG if number == connections else b"message\n")


def bench_server_loop(rounds: int) -> None:
    print("server-loop checker against a correct server (wall time per run)")
    port = free_port()
    server = start([sys.executable, str(LEARNER_LOOP), str(port)])
    try:
        wait_port(port)
        ours = []
        for _ in range(rounds):
            started = time.perf_counter()
            result = check_server_loop("127.0.0.1", port, lambda: FLAG, "sockdojo", Transcript())
            ours.append(time.perf_counter() - started)
            assert result.passed, result.diagnosis
        started = time.perf_counter()
        original_style_checker(port)
        baseline = time.perf_counter() - started
    finally:
        stop(server)
    median = statistics.median(ours)
    print(f"  sockdojo      median {median * 1000:8.1f} ms over {rounds} runs")
    print(f"  original-like        {baseline * 1000:8.1f} ms (3 connections, 2 s apart)")
    print(f"  ratio: sockdojo is {baseline / median:,.0f}x faster")


async def _session(port: int, question: bytes) -> bool:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await reader.readuntil(b"?\n")
        writer.write(question)
        await writer.drain()
        answer = await reader.read()
        return answer.endswith(b"\n")
    finally:
        writer.close()


async def _load(port: int, concurrency: int, sessions: int, limit: float) -> tuple[int, float]:
    done = 0
    failures = 0
    cut = 0
    deadline = time.perf_counter() + limit
    queue = iter(range(sessions))

    async def worker() -> None:
        nonlocal done, failures, cut
        for _ in queue:
            if time.perf_counter() > deadline:
                return
            remaining = max(deadline - time.perf_counter(), 0.1)
            ok: bool | None  # None: cut short by the round's time limit
            try:
                ok = await asyncio.wait_for(_session(port, b"flag?\n"), min(30, remaining))
            except TimeoutError:
                # Cut short by this round's own time limit, the server's doing or not: said
                # apart from the sessions the server failed.
                ok = None if remaining < 30 else False
            except (OSError, asyncio.IncompleteReadError):
                ok = False
            if ok:
                done += 1
            elif ok is None:
                cut += 1
            else:
                failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    if failures:
        print(f"    ({failures} sessions failed)")
    if cut:
        print(f"    ({cut} sessions cut short by the round's time limit)")
    return done, elapsed


def rate(port: int, concurrency: int, sessions: int, limit: float) -> float:
    done, elapsed = asyncio.run(_load(port, concurrency, sessions, limit))
    return done / elapsed


BASELINES = ("uvloop-eight-ball", "asyncio-eight-ball", "eight-ball")


def bench_eight_ball(levels: list[int], sessions_per_level: int, limit: float, rounds: int) -> None:
    print("eight-ball sessions per second (banner, question, flag, close)")
    home = tempfile.mkdtemp(prefix="sockdojo-bench-")
    env = {**os.environ, "SOCKDOJO_HOME": home, "NO_COLOR": "1"}
    ours_port = free_port()
    ours = start(
        [sys.executable, "-m", "sockdojo", "run", "eight-ball", "--port", str(ours_port)], env
    )
    ports = {name: free_port() for name in BASELINES}
    baselines = [
        start([sys.executable, str(HERE / "baseline_servers.py"), name, str(port)])
        for name, port in ports.items()
    ]
    try:
        wait_port(ours_port)
        for port in ports.values():
            wait_port(port)
        for concurrency in levels:
            sessions = max(sessions_per_level, concurrency * 2)
            seen: dict[str, list[float]] = {"sockdojo": [], **{name: [] for name in BASELINES}}
            # Alternating rounds, so that whatever else the machine does falls on both sides.
            for _ in range(rounds):
                seen["sockdojo"].append(rate(ours_port, concurrency, sessions, limit))
                for name, port in ports.items():
                    seen[name].append(rate(port, concurrency, sessions, limit))
            ours_rate = statistics.median(seen["sockdojo"])
            cells = [f"sockdojo {ours_rate:7.0f}/s"]
            for name in BASELINES:
                base = statistics.median(seen[name])
                cells.append(
                    f"{name.removesuffix('-eight-ball') or 'blocking'} {base:7.0f}/s "
                    f"({ours_rate / base:4.2f}x)"
                )
            print(f"  {concurrency:>5} concurrent: " + "   ".join(cells))
        # The case the architecture is for: a few learners whose clients connect and say
        # nothing. A blocking loop waits on the first of them and serves nobody else.
        rates = []
        for port in (ours_port, ports["eight-ball"]):
            silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(10)]
            try:
                rates.append(rate(port, 100, sessions_per_level, limit=5))
            finally:
                for sock in silent:
                    sock.close()
        ours_rate, base_rate = rates
        ratio = f"{ours_rate / base_rate:5.2f}x" if base_rate else "baseline served none"
        print(
            f"  100 concurrent + 10 silent: sockdojo {ours_rate:8.0f}/s   "
            f"blocking {base_rate:8.0f}/s   ratio {ratio}"
        )
    finally:
        stop(ours)
        for process in baselines:
            stop(process)


def bench_idle_flood(idle: int) -> None:
    """A real client's wait for its flag while `idle` silent connections hold the server."""
    print(f"client challenge: a real client's wait with {idle} idle connections open")
    home = tempfile.mkdtemp(prefix="sockdojo-bench-")
    env = {**os.environ, "SOCKDOJO_HOME": home, "NO_COLOR": "1"}
    port = free_port()
    server = start([sys.executable, "-m", "sockdojo", "run", "client", "--port", str(port)], env)
    held: list[socket.socket] = []
    try:
        wait_port(port)
        _flag_wait(port)  # warm: the first flag opens the data directory and mints
        quiet = max(_flag_wait(port) for _ in range(5))
        for _ in range(idle):
            held.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        time.sleep(1.0)  # let the server accept them all
        loaded = [_flag_wait(port) for _ in range(5)]
    finally:
        for sock in held:
            sock.close()
        stop(server)
    worst = max(loaded)
    print(f"  no idle connections: {quiet * 1000:7.1f} ms (worst of 5)")
    print(f"  {idle} idle:          {worst * 1000:7.1f} ms (worst of 5; {worst / quiet:.1f}x)")


def _flag_wait(port: int) -> float:
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=90) as sock:
        sock.sendall(b"hi\n")
        sock.settimeout(90)
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    assert data.startswith(b"sockdojo{"), data
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    bench_server_loop(rounds=5 if args.quick else 20)
    print()
    bench_eight_ball(
        [1, 100, 1000],
        sessions_per_level=300 if args.quick else 2000,
        limit=10,
        rounds=1 if args.quick else 5,
    )
    print()
    bench_idle_flood(1000 if args.quick else 5000)


if __name__ == "__main__":
    main()
