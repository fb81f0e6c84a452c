"""The web dojo under abuse (issue 11): how long a normal client waits while someone attacks.

    .venv/bin/python bench/abuse.py [--workers 1] [--seconds 3]
    .venv/bin/python bench/abuse.py --parsers     # what the header cap costs, per mechanism

Starts a real `sockdojo serve` (SQLite in a throw-away data directory, the default Argon2
costs) and, for each situation, probes it with one normal client (GET the module's scoreboard
from the API, one request after another) and reports the slowest and the median answer:

- no abuse (the baseline, measured in the same run);
- one, then four connections sending an endless request header (64 MiB each at most);
- 1,000 idle connections held open (connected, nothing sent);
- 40 logins with a wrong password released at once by a barrier, for one name (the limit
  per name, 5, applies) and for 40 names (only the limit per client, 30).

Each line ends with the ratio of its slowest answer to the baseline's. Traffic stays on
127.0.0.1; every loop is bounded in time and in count.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
from processes import running

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "src"))
PROBE = "/api/v1/modules/sockets/scoreboard"
PROBE_TIMEOUT = 60.0
GIANT_BYTES = 64 * 1024 * 1024
IDLE_CONNECTIONS = 1000
LOGIN_BURST = 40
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_answering(base: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(base + PROBE, timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise SystemExit(f"the dojo at {base} did not answer within {seconds:.0f} s")


@contextlib.contextmanager
def dojo(workers: int) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="sockdojo-abuse-") as home:
        env = {**os.environ, "SOCKDOJO_HOME": home, "NO_COLOR": "1"}
        env.pop("SOCKDOJO_DATABASE_URL", None)
        command = [sys.executable, "-m", "sockdojo"]
        subprocess.run(
            [*command, "account", "add", "victim", "--password-stdin"],
            input=b"the right password\n",
            env=env,
            check=True,
            capture_output=True,
        )
        port = free_port()
        serve = [*command, "serve", "--port", str(port), "--workers", str(workers)]
        with running(serve, env=env, how=signal.SIGINT, grace=30):
            base = f"http://127.0.0.1:{port}"
            wait_answering(base)
            yield base


def probe(base: str, seconds: float) -> list[float]:
    """Answer times of one normal client, request after request, for `seconds`."""
    times: list[float] = []
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=base, timeout=PROBE_TIMEOUT) as client:
        while time.monotonic() < deadline and len(times) < 100_000:
            started = time.perf_counter()
            # A timeout counts as its whole wait.
            with contextlib.suppress(httpx.HTTPError):
                client.get(PROBE)
            times.append(time.perf_counter() - started)
    return times


def giant_header(port: int, stop: threading.Event) -> None:
    """Send a request header that never ends, until told to stop or refused."""
    chunk = b"a" * 65536
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(5)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Giant: ")
        sent = 0
        while not stop.is_set() and sent < GIANT_BYTES:
            sock.sendall(chunk)
            sent += len(chunk)


def giant_headers(count: int) -> Callable[[str, threading.Event], None]:
    def attack(base: str, stop: threading.Event) -> None:
        port = int(base.rsplit(":", 1)[1])
        threads = [
            threading.Thread(target=giant_header, args=(port, stop), daemon=True)
            for _ in range(count)
        ]
        for thread in threads:
            thread.start()
        stop.wait()
        for thread in threads:
            thread.join(timeout=10)

    return attack


def idle_connections(base: str, stop: threading.Event) -> None:
    port = int(base.rsplit(":", 1)[1])
    held: list[socket.socket] = []
    try:
        for _ in range(IDLE_CONNECTIONS):
            with contextlib.suppress(OSError):
                held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        stop.wait()
    finally:
        for sock in held:
            sock.close()


def login_burst(base: str, stop: threading.Event, *, source: str, names: bool = False) -> None:
    """40 wrong logins at once from the address `source`: for one name, or (`names`) for 40
    names (only the limit per client address, 30, applies then: more password checks). Each
    burst comes from an address of its own, so that one's attempts do not limit the next."""
    clients = [
        httpx.Client(
            base_url=base,
            timeout=PROBE_TIMEOUT,
            transport=httpx.HTTPTransport(local_address=source),
        )
        for _ in range(LOGIN_BURST)
    ]
    tokens = [CSRF_INPUT.findall(client.get("/login").text)[0] for client in clients]
    barrier = threading.Barrier(LOGIN_BURST)
    who = [f"guess{n}" if names else "victim" for n in range(LOGIN_BURST)]

    def login(client: httpx.Client, token: str, name: str) -> None:
        barrier.wait(timeout=30)
        with contextlib.suppress(httpx.HTTPError):
            client.post(
                "/login",
                data={"csrf_token": token, "name": name, "password": "a wrong password"},
            )

    threads = [
        threading.Thread(target=login, args=(client, token, name), daemon=True)
        for client, token, name in zip(clients, tokens, who, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for client in clients:
        client.close()
    stop.wait()


def under(base: str, attack: Callable[[str, threading.Event], None], seconds: float) -> list[float]:
    stop = threading.Event()
    attacker = threading.Thread(target=attack, args=(base, stop), daemon=True)
    attacker.start()
    time.sleep(0.3)  # let the attack begin
    try:
        return probe(base, seconds)
    finally:
        stop.set()
        attacker.join(timeout=30)
        time.sleep(0.5)  # let the server settle before the next situation


def report(name: str, times: list[float], baseline: float) -> None:
    slowest = max(times)
    print(
        f"  {name:<34} slowest {slowest * 1000:9.1f} ms   median "
        f"{statistics.median(times) * 1000:7.1f} ms   answers {len(times):6d}   "
        f"{slowest / baseline:8.1f}x baseline",
        flush=True,
    )


# The header cap's mechanism, measured: requests per second of a bare ASGI app (so that the
# HTTP layer is what is measured) under uvicorn's httptools protocol as it is, under our guard
# in front of it, and under h11 with its own cap (`h11_max_incomplete_event_size`).
PARSERS = ("httptools", "guarded", "h11-capped")


async def _hello(scope: dict[str, object], receive: object, send: object) -> None:
    assert callable(send)
    headers = [(b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


def serve_parser(name: str, port: int) -> None:
    import asyncio

    import uvicorn

    from sockdojo.web.http_limits import HEAD_LIMIT, GuardedHttpToolsProtocol

    http: type[asyncio.Protocol] | str = "httptools"
    max_head: int | None = None  # uvicorn's default: h11's own limit
    if name == "guarded":
        http = GuardedHttpToolsProtocol
    elif name == "h11-capped":
        http, max_head = "h11", HEAD_LIMIT
    uvicorn.run(
        _hello,
        host="127.0.0.1",
        port=port,
        log_level="error",
        access_log=False,
        lifespan="off",
        http=http,
        h11_max_incomplete_event_size=max_head,
    )


async def _hammer(port: int, seconds: float, connections: int = 32) -> int:
    import asyncio

    request = b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n"
    done = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds

    async def one() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while loop.time() < deadline:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.findall(rb"content-length: (\d+)", head.lower())[0])
                await reader.readexactly(length)
                done += 1
        finally:
            writer.close()

    await asyncio.gather(*(one() for _ in range(connections)))
    return done


def compare_parsers(seconds: float, rounds: int = 3) -> None:
    import asyncio

    print(f"the header cap's cost: requests/s of a bare app, {rounds} alternating rounds")
    rates: dict[str, list[float]] = {name: [] for name in PARSERS}
    for _ in range(rounds):
        for name in PARSERS:
            port = free_port()
            server = subprocess.Popen(
                [sys.executable, __file__, "--serve-parser", name, "--port", str(port)],
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            try:
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    with (
                        contextlib.suppress(OSError),
                        socket.create_connection(("127.0.0.1", port), timeout=1),
                    ):
                        break
                    time.sleep(0.05)
                rates[name].append(asyncio.run(_hammer(port, seconds)) / seconds)
            finally:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
    base = statistics.median(rates["httptools"])
    for name in PARSERS:
        median = statistics.median(rates[name])
        spread = ", ".join(f"{rate:,.0f}" for rate in rates[name])
        print(f"  {name:<12} {median:9,.0f}/s  ({spread})  {median / base:5.2f}x httptools")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=3.0, help="probing time per situation")
    parser.add_argument("--parsers", action="store_true", help="only compare the header caps")
    parser.add_argument("--serve-parser", choices=PARSERS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve_parser:
        serve_parser(options.serve_parser, options.port)
        return
    if options.parsers:
        compare_parsers(options.seconds)
        return
    print(f"sockdojo serve --workers {options.workers}, probing {PROBE}", flush=True)
    with dojo(options.workers) as base:
        baseline = probe(base, options.seconds)
        slowest = max(baseline)
        report("no abuse", baseline, slowest)
        situations: list[tuple[str, Callable[[str, threading.Event], None]]] = [
            ("1 giant-header connection", giant_headers(1)),
            ("4 giant-header connections", giant_headers(4)),
            (f"{IDLE_CONNECTIONS} idle connections", idle_connections),
            (
                f"{LOGIN_BURST} logins at once, one name",
                functools.partial(login_burst, source="127.0.0.2"),
            ),
            (
                f"{LOGIN_BURST} logins at once, {LOGIN_BURST} names",
                functools.partial(login_burst, source="127.0.0.3", names=True),
            ),
        ]
        for name, attack in situations:
            report(name, under(base, attack, options.seconds), slowest)
        report("no abuse, again", probe(base, options.seconds), slowest)


if __name__ == "__main__":
    main()
