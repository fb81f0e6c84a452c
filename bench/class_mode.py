"""Class mode over HTTP and the CLI's start-up, on a real `sockdojo serve` (SQLite).

    .venv/bin/python bench/class_mode.py [--seconds 3] [--threads 4] [--runs 5]

1. the mint-and-report round trip a logged-in `sockdojo run` makes (POST the flag request, then
   POST the run report), one after another: median and p99;
2. mints per second beside flag submissions per second on the same server, from `--threads`
   clients each (accounts rotate, so the 30-a-minute minting limit is never what is measured;
   submissions send a correct flag again: a stored attempt each, like a mint);
3. the CLI's start-up: `--help` (kept text, and through click), `list`, `whoami` and `submit`,
   logged in and `--local`, beside
   `python -c pass` (the baseline, measured in the same run): median wall time of `--runs`.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

HERE = Path(__file__).parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))

PASSWORD = "a long bench password"  # noqa: S105 (the bench accounts' own)
MINT = "/api/v1/modules/sockets/challenges/client/flag"
SUBMIT = "/api/v1/modules/sockets/submissions"
NEW_TOKEN = re.compile(r'<code id="new-token">([^<]+)</code>')
ACCOUNTS = 120


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_accounts(home: Path, count: int) -> None:
    """Accounts straight in the server's store (registration is limited per address)."""
    from sockdojo.config import database_url
    from sockdojo.storage import accounts
    from sockdojo.storage.database import Store
    from sockdojo.web.passwords import Passwords

    store = Store(database_url(home))
    hashed = Passwords().hash(PASSWORD)
    for i in range(count):
        accounts.create(store, f"bench{i}", password_hash=hashed)
    store.dispose()


def token_for(url: str, name: str) -> str:
    with httpx.Client(base_url=url, timeout=30) as browser:
        csrf = browser.get("/api/v1/me").json()["csrf_token"]
        browser.post("/login", data={"csrf_token": csrf, "name": name, "password": PASSWORD})
        csrf = browser.get("/api/v1/me").json()["csrf_token"]
        page = browser.post("/account/tokens", data={"csrf_token": csrf, "name": "bench"})
        found = NEW_TOKEN.search(page.text)
        assert found, page.text[:500]
        return found.group(1)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def round_trips(url: str, tokens: list[str], seconds: float) -> list[float]:
    times = []
    report = {"challenge": "client", "passed": True, "diagnoses": [], "duration_ms": 1}
    deadline = time.perf_counter() + seconds
    with httpx.Client(base_url=url, timeout=30) as client:
        index = 0
        while time.perf_counter() < deadline and index < 20 * len(tokens):
            headers = {"Authorization": f"Bearer {tokens[index % len(tokens)]}"}
            started = time.perf_counter()
            minted = client.post(MINT, headers=headers)
            reported = client.post("/api/v1/runs", json=report, headers=headers)
            times.append(time.perf_counter() - started)
            assert minted.status_code == 200, minted.text
            assert reported.status_code == 201, reported.text
            index += 1
    return times


def rate(url: str, tokens: list[str], seconds: float, threads: int, kind: str) -> float:
    """Requests answered per second, `threads` clients at once."""
    done = [0] * threads
    flags: dict[str, str] = {}
    if kind == "submit":
        with httpx.Client(base_url=url, timeout=30) as client:
            for token in tokens:
                answer = client.post(MINT, headers={"Authorization": f"Bearer {token}"})
                flags[token] = answer.json()["flag"]
    start = threading.Barrier(threads)
    finish = time.perf_counter() + seconds + 0.1

    def work(slot: int) -> None:
        mine = tokens[slot::threads]
        with httpx.Client(base_url=url, timeout=30) as client:
            start.wait(timeout=30)
            count = 0
            while time.perf_counter() < finish and count < 100_000:
                token = mine[count % len(mine)]
                headers = {"Authorization": f"Bearer {token}"}
                if kind == "mint":
                    answer = client.post(MINT, headers=headers)
                else:
                    answer = client.post(SUBMIT, json={"flag": flags[token]}, headers=headers)
                if answer.status_code == 200:
                    count += 1
                elif answer.status_code != 429:
                    raise AssertionError(answer.text)
            done[slot] = count

    began = time.perf_counter()
    workers = [threading.Thread(target=work, args=(slot,)) for slot in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=seconds + 60)
    return sum(done) / (time.perf_counter() - began)


def startup(args: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
        )
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server_env = {**os.environ, "SOCKDOJO_HOME": str(root / "server")}
        server = subprocess.Popen(
            [python, "-m", "sockdojo", "serve", "--port", str(port)],
            env=server_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            for _ in range(600):
                try:
                    httpx.get(url + "/api/v1/modules", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.05)
            make_accounts(root / "server", ACCOUNTS)
            tokens = [token_for(url, f"bench{i}") for i in range(ACCOUNTS)]
            trips = round_trips(url, tokens[: ACCOUNTS // 3], options.seconds)
            mints = rate(url, tokens[ACCOUNTS // 3 :], options.seconds, options.threads, "mint")
            submits = rate(url, tokens, options.seconds, options.threads, "submit")

            laptop = {
                **os.environ,
                "HOME": str(root / "laptop"),
                "SOCKDOJO_HOME": str(root / "laptop" / "data"),
                "SOCKDOJO_CONFIG": str(root / "laptop" / "config"),
                "NO_COLOR": "1",
            }
            subprocess.run(
                [python, "-m", "sockdojo", "login", url, "--with-token"],
                input=tokens[0] + "\n",
                text=True,
                env=laptop,
                capture_output=True,
                check=True,
            )
            sockdojo = [python, "-m", "sockdojo"]
            bare = startup([python, "-c", "pass"], laptop, options.runs)
            rows = [("python -c pass", bare)]
            # `sockdojo [COMMAND] --help` prints the text kept from click's last rendering
            # (cli/help_cache.py); with an option before it, click renders it every time.
            rows.append(("--help", startup([*sockdojo, "--help"], laptop, options.runs)))
            seconds = startup([*sockdojo, "--local", "--help"], laptop, options.runs)
            rows.append(("--local --help (click)", seconds))
            for label, extra in (("logged in", []), ("--local", ["--local"])):
                for command in (["list"], ["whoami"], ["submit", "sockdojo{x}"]):
                    seconds = startup([*sockdojo, *extra, *command], laptop, options.runs)
                    rows.append((f"{' '.join(command[:1])} ({label})", seconds))
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(
        f"mint + report round trip: median {statistics.median(trips) * 1000:.2f} ms, "
        f"p99 {percentile(trips, 0.99) * 1000:.2f} ms ({len(trips)} round trips)"
    )
    print(
        f"mints/s {mints:,.0f} beside submissions/s {submits:,.0f} "
        f"({options.threads} clients): ratio {mints / submits:.2f}"
    )
    print("CLI start-up, median wall time, and x the bare interpreter:")
    for label, seconds in rows:
        print(f"  {label:<24} {seconds * 1000:7.0f} ms  {seconds / bare:5.1f}x")


if __name__ == "__main__":
    main()
