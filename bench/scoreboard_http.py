"""The scoreboard and flag submission over HTTP: the real `sockdojo serve` under wrk.

    .venv/bin/python bench/scoreboard_http.py [--quick] [--workers 2] [--seconds 10]
                                              [--postgres URL]

On a copy of the benchmark data (bench/generate_scoreboard_data.py; Sockets: 400,000 hackers,
2,000,000 solves), with `sockdojo serve --workers N` (uvicorn workers forked by gunicorn from a
parent that has loaded the live scoreboard; each worker catches its copy up per request):

1. start-up: process start to the first scoreboard answered (the live scoreboard loads first);
2. scoreboard requests per second (30-day page, JSON API), anonymous and signed in (each request
   a different hacker's session, so the viewer's row and a session look-up are in every one);
   then the HTML pages: the 30-day module page (board, chart, per-challenge counts), anonymous
   and signed in, a challenge page and the top hacker's page;
3. durable flag submissions per second: correct flags of fresh (hacker, challenge) pairs, each
   a new solve committed before the answer; afterwards every "solved" answer is checked against
   the database;
   then the module page right after them, checked against the database (per-challenge counts);
   then boards while solves land: the JSON scoreboard and the module page, each under wrk at
   the same time as a second wrk submitting fresh flags (every board catches up with new
   solves);
4. the baseline: the same server with the straightforward SQL scoreboard (a GROUP BY over the
   window per request, without badges), for a few requests.

wrk (Debian: apt-get install wrk) makes the load, from the same 2-core machine.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

from generate_scoreboard_data import data_options, dataset  # noqa: E402
from processes import running  # noqa: E402

from sockdojo.challenges import registry  # noqa: E402
from sockdojo.flags import HmacFlagAuthority  # noqa: E402

SCOREBOARD = "/api/v1/modules/sockets/scoreboard?days=30"
MODULE_PAGE = "/sockets/?days=30"
CHALLENGE_PAGE = f"/sockets/{registry.CHALLENGES[0].id}/"
SUBMIT = "/api/v1/modules/sockets/submissions"
SOCKDOJO = str(ROOT / ".venv" / "bin" / "sockdojo")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str, timeout: float = 60) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read()
    except OSError:
        return 0, b""


def wait_ready(port: int, deadline: float) -> float:
    """Seconds until the scoreboard first answers 200."""
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        status, _ = get(f"http://127.0.0.1:{port}{SCOREBOARD}", timeout=30)
        if status == 200:
            return time.perf_counter() - started
        time.sleep(0.02)
    raise TimeoutError("the server did not answer")


@contextlib.contextmanager
def server(
    env: dict[str, str], port: int, workers: int, app: str | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    if app is None:
        command = [SOCKDOJO, "serve", "--port", str(port), "--workers", str(workers)]
    else:
        command = [
            str(ROOT / ".venv" / "bin" / "uvicorn"),
            "--factory",
            app,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
            "--lifespan",
            "off",
        ]
    with running(command, env=env, cwd=HERE) as process:
        yield process


def baseline_app() -> object:
    """The web dojo with the straightforward SQL board (for uvicorn --factory)."""
    from scoreboard_baseline import group_by_scoreboard

    from sockdojo.config import Settings
    from sockdojo.flags import HmacFlagAuthority, load_or_create_secret
    from sockdojo.storage.database import Store
    from sockdojo.web.app import create_app
    from sockdojo.web.dojo import WebDojo
    from sockdojo.web.keys import load_or_create_session_key

    settings = Settings.from_environment()
    store = Store(settings.database_url)
    authority = HmacFlagAuthority(load_or_create_secret(settings.home), settings.flag_prefix)
    dojo = WebDojo(store, authority, scoreboard=group_by_scoreboard(store))
    return create_app(dojo, secret_key=load_or_create_session_key(settings.home))


def top_hacker(port: int) -> str:
    status, body = get(f"http://127.0.0.1:{port}{SCOREBOARD}")
    assert status == 200, status
    return str(json.loads(body)["rows"][0]["hacker"])


def shown_counts(port: int) -> list[int]:
    """The per-challenge solve counts the module page shows, in challenge order."""
    status, body = get(f"http://127.0.0.1:{port}{MODULE_PAGE}")
    assert status == 200, status
    return [int(n) for n in re.findall(rb'<span class="solves"[^>]*>(\d+) solve', body)]


def sign_cookie(key: str, data: dict[str, str]) -> str:
    """What Starlette's SessionMiddleware would set for this session."""
    import itsdangerous

    payload = base64.b64encode(json.dumps(data).encode())
    return itsdangerous.TimestampSigner(key).sign(payload).decode()


def prepare_hackers(url: str, home: Path, count: int) -> list[tuple[int, str, str]]:
    """`count` new hackers, each signed in: (account id, session cookie, CSRF token)."""
    import secrets

    from sockdojo.storage.database import Store
    from sockdojo.storage.models import Account
    from sockdojo.storage.web_auth import open_session
    from sockdojo.web.keys import load_or_create_session_key

    key = load_or_create_session_key(home)
    store = Store(url)
    run = secrets.token_hex(3)
    hackers = []
    now = dt.datetime.now(dt.UTC)
    with store.session() as session:
        made = [Account(name=f"b{run}{n}", name_key=f"b{run}{n}") for n in range(count)]
        session.add_all(made)
        session.flush()
        for account in made:
            token = open_session(session, account.id, now)
            csrf = secrets.token_urlsafe(16)
            hackers.append((account.id, sign_cookie(key, {"sid": token, "csrf": csrf}), csrf))
    store.dispose()
    return hackers


LUA = """
local entries = {ENTRIES}
local counter = 0
local threads = {}
solved, other = 0, 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = id
end

function request()
  local entry = entries[(counter % #entries) + 1]
  counter = counter + THREADS
  return wrk.format(METHOD, entry[1], entry[2], entry[3])
end

function response(status, headers, body)
  if status == 200 and (METHOD == "GET" or string.find(body, '"verdict": *"solved"')) then
    solved = solved + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local good, bad = 0, 0
  for _, thread in ipairs(threads) do
    good = good + thread:get("solved")
    bad = bad + thread:get("other")
  end
  io.write(string.format("RESULT %d %d %f %f\\n", good, bad,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lua string literal here (ASCII)


def wrk(
    port: int,
    seconds: float,
    method: str,
    entries: list[tuple[str, dict[str, str], str | None]],
    *,
    threads: int = 2,
    connections: int = 32,
) -> dict[str, float]:
    rows = []
    for path, headers, body in entries:
        header_table = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items())
        rows.append(f"{{{lua_string(path)}, {{{header_table}}}, {lua_string(body or '')}}}")
    script = (
        LUA.replace("{ENTRIES}", "{" + ",\n".join(rows) + "}")
        .replace("THREADS", str(threads))
        .replace("METHOD", lua_string(method))
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
        path = handle.name
    try:
        result = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{round(seconds)}s",
                "--timeout",
                "10s",
                "-s",
                path,
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=seconds + 60,
        )
        if result.returncode != 0:
            raise RuntimeError(f"wrk failed: {result.stdout}\n{result.stderr}")
    finally:
        os.unlink(path)
    rate_line = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    counted = re.search(r"RESULT (\d+) (\d+) ([\d.]+) ([\d.]+)", result.stdout)
    if rate_line is None or counted is None:
        raise RuntimeError(f"wrk printed no results: {result.stdout}")
    rate = float(rate_line.group(1))
    good, bad, p50, p99 = counted.groups()
    return {"rate": rate, "ok": int(good), "bad": int(bad), "p50": float(p50), "p99": float(p99)}


def stored_solves(url: str, accounts: list[int]) -> tuple[int, dict[str, int]]:
    """The solves of these accounts in the database, and the per-challenge counts now."""
    from sqlalchemy import func, select

    from sockdojo.scoreboard.counted_solves import solve_counts
    from sockdojo.storage.database import Store
    from sockdojo.storage.models import Solve

    store = Store(url)
    with store.session() as session:
        stored = session.scalar(
            select(func.count()).select_from(Solve).where(Solve.account_id.in_(accounts))
        )
        counted = solve_counts(session, registry.MODULE_ID, dt.datetime.now(dt.UTC))
    store.dispose()
    return stored or 0, counted


def submissions(
    authority: HmacFlagAuthority, hackers: list[tuple[int, str, str]]
) -> list[tuple[str, dict[str, str], str | None]]:
    """A correct flag for each (hacker, challenge) pair: each a new solve."""
    entries: list[tuple[str, dict[str, str], str | None]] = []
    for challenge in registry.CHALLENGES:
        for account, cookie, csrf in hackers:
            flag = authority.mint(account, challenge.number)
            headers = {
                "Cookie": f"sockdojo_session={cookie}",
                "X-CSRF-Token": csrf,
                "Content-Type": "application/json",
            }
            entries.append((SUBMIT, headers, json.dumps({"flag": flag, "challenge": challenge.id})))
    return entries


def boards_while_solving(
    port: int,
    seconds: float,
    path: str,
    solving: list[tuple[str, dict[str, str], str | None]],
) -> tuple[dict[str, float], dict[str, float]]:
    """`path` under wrk (32 connections) while a second wrk (8 connections) submits these
    flags, both for `seconds`: (the boards' figures, the submissions')."""
    with ThreadPoolExecutor(2) as pool:
        solves = pool.submit(wrk, port, seconds, "POST", solving, threads=1, connections=8)
        boards = pool.submit(wrk, port, seconds, "GET", [(path, {}, None)], threads=1)
        return boards.result(), solves.result()


def main() -> None:
    parser = data_options(__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10)
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk")
    data = dataset(options.quick, postgres=options.postgres)
    work = Path(tempfile.mkdtemp(prefix="sockdojo-http-"))
    try:
        if options.postgres:
            url = data.url
        else:
            # A copy: submissions add solves, and the generated data stays as it was.
            source = Path(data.url.removeprefix("sqlite:///"))
            shutil.copyfile(source, work / "dojo.db")
            url = f"sqlite:///{work / 'dojo.db'}"
        home = work / "home"
        env = {
            **os.environ,
            "SOCKDOJO_HOME": str(home),
            "SOCKDOJO_DATABASE_URL": url,
            "PYTHONPATH": str(HERE),
        }
        os.environ.update({"SOCKDOJO_HOME": str(home), "SOCKDOJO_DATABASE_URL": url})
        seconds = options.seconds
        # Enough fresh (hacker, challenge) pairs for 2,000 submissions a second: every answer
        # counted below must be a new solve, never a repeat of an exhausted list.
        submitters = int(2000 * seconds) // len(registry.CHALLENGES) + 1
        hackers = prepare_hackers(url, home, 3 * submitters + 200)
        viewers, submitters_list = hackers[:200], hackers[200 : 200 + submitters]
        # Fresh pairs for each of the two phases of boards while solves land.
        landing = [hackers[200 + n * submitters : 200 + (n + 1) * submitters] for n in (1, 2)]
        report: list[str] = []

        port = free_port()
        with server(env, port, options.workers) as _:
            ready = wait_ready(port, time.perf_counter() + 120)
            report.append(
                f"start-up, process start to the first scoreboard answered: {ready:.2f} s"
            )
            time.sleep(2)  # the other workers warm up on their own
            anonymous = wrk(port, seconds, "GET", [(SCOREBOARD, {}, None)])
            signed_in = wrk(
                port,
                seconds,
                "GET",
                [
                    (SCOREBOARD, {"Cookie": f"sockdojo_session={cookie}"}, None)
                    for _, cookie, _ in viewers
                ],
            )
            cookies = [{"Cookie": f"sockdojo_session={cookie}"} for _, cookie, _ in viewers]
            pages = {
                "module page, anonymous": wrk(port, seconds, "GET", [(MODULE_PAGE, {}, None)]),
                "module page, signed in": wrk(
                    port, seconds, "GET", [(MODULE_PAGE, headers, None) for headers in cookies]
                ),
                "challenge page, anonymous": wrk(
                    port, seconds, "GET", [(CHALLENGE_PAGE, {}, None)]
                ),
                "hacker page (top hacker), anonymous": wrk(
                    port, seconds, "GET", [(f"/hacker/{top_hacker(port)}", {}, None)]
                ),
            }
            from sockdojo.flags import load_or_create_secret

            authority = HmacFlagAuthority(load_or_create_secret(home))
            submitted = wrk(port, seconds, "POST", submissions(authority, submitters_list))
            submitter_ids = [a for a, _, _ in submitters_list]
            # wrk stops with requests still in flight, which the server may commit after it
            # ended: wait until the database's solves stop changing (bounded), so that the page
            # read next is "right after the last solve" and any difference is the page's.
            stored, counted = stored_solves(url, submitter_ids)
            for _ in range(60):
                time.sleep(0.5)
                again = stored_solves(url, submitter_ids)
                if again == (stored, counted):
                    break
                stored, counted = again
            shown = shown_counts(port)
            while_solving = {
                name: boards_while_solving(port, seconds, path, submissions(authority, landing[n]))
                for n, (name, path) in enumerate(
                    [("scoreboard", SCOREBOARD), ("module page", MODULE_PAGE)]
                )
            }

        baseline_port = free_port()
        with server(env, baseline_port, options.workers, app="scoreboard_http:baseline_app"):
            wait_ready(baseline_port, time.perf_counter() + 600)
            count = 2 * options.workers
            began = time.perf_counter()
            for _ in range(count):
                status, _ = get(f"http://127.0.0.1:{baseline_port}{SCOREBOARD}", timeout=600)
                assert status == 200
            baseline_rate = count / (time.perf_counter() - began)

        def line(name: str, result: dict[str, float]) -> str:
            return (
                f"{name}: {result['rate']:,.0f} req/s ({result['rate'] / baseline_rate:,.0f}x the"
                f" baseline), p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms,"
                f" {result['ok']:,} ok, {result['bad']:,} not"
            )

        report.append(line("scoreboard, anonymous", anonymous))
        report.append(line("scoreboard, signed in", signed_in))
        for name, result in pages.items():
            report.append(line(name, result))
        expected = [counted[challenge.id] for challenge in registry.CHALLENGES]
        report.append(
            f"module page right after the submissions: per-challenge counts {shown}"
            f" ({'equal to' if shown == expected else 'DIFFERENT FROM'} the database's {expected})"
        )
        report.append(
            f"flag submissions (each a new solve): {submitted['ok'] / seconds:,.0f} new solves/s"
            f" ({submitted['rate']:,.0f} req/s, {submitted['bad']:,} answered otherwise), p50"
            f" {submitted['p50']:.1f} ms, p99 {submitted['p99']:.1f} ms; {submitted['ok']:,}"
            f" answered 'solved', {stored:,} solves in the database afterwards"
            f" ({'all there' if stored >= submitted['ok'] else 'MISSING SOLVES'})"
        )
        for name, (boards, solves) in while_solving.items():
            report.append(
                line(f"{name}, anonymous, while solves land", boards)
                + f"; meanwhile {solves['ok'] / seconds:,.0f} new solves/s"
                f" ({solves['bad']:,} answered otherwise)"
            )
        report.append(
            f"baseline (GROUP BY per request, no badges): {baseline_rate:.2f} req/s,"
            f" {1000 / baseline_rate * options.workers:,.0f} ms a request"
        )
        database = "PostgreSQL" if options.postgres else "SQLite"
        print(f"\n== HTTP, {database}, {options.workers} workers, wrk -t2 -c32 -d{seconds:g}s")
        for entry in report:
            print("  " + entry)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
