"""A class on one server, for real: `sockdojo serve` and three laptops' CLIs.

Each laptop has its own home, config directory and network namespace (its challenges on its own
127.0.0.1:1337). One logs in through the device flow, approved in Chromium; one with
`--with-token`; one with SOCKDOJO_TOKEN. Each solves a challenge by running a real learner
program, submits, and the class board shows exactly that; no laptop ever holds the flag secret.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, Unpack

import api_contract
from class_mode.laptops import PASSWORD, ClassServer, Laptop, web_account_token
from support import Processes
from web.test_web_browser import CHROMIUM, browser  # noqa: F401  (the fixture)

if TYPE_CHECKING:
    from playwright.sync_api import Browser

REUSE_OK = Path(__file__).parent.parent / "challenges" / "reuse_address" / "corpus" / "ok_basic.py"


class ClassEnv(TypedDict, total=False):
    """The environment a laptop's CLI may be logged in by, instead of `sockdojo login`."""

    SOCKDOJO_SERVER: str
    SOCKDOJO_TOKEN: str


def solve_client(machine: Laptop, processes: Processes, **extra: Unpack[ClassEnv]) -> str:
    """`sockdojo run client --once` on the laptop's own 127.0.0.1:1337, the seed client program
    against it: what the client printed."""
    challenge = machine.start("run", "client", "--once", **extra)
    machine.wait_listening(1337)
    printed = machine.run_learner("seed_client.py", "1337")
    # --once: the challenge ends by itself once the flag is read (and its run reported).
    assert challenge.wait(timeout=30) == 0, processes.stop(challenge)
    return printed.strip()


def solve_server(machine: Laptop, **extra: Unpack[ClassEnv]) -> str:
    """The seed server program listening on the laptop's 1337, `sockdojo run server` connecting
    to it: returns the flag the learner's server printed."""
    learner = machine.learner("seed_server.py", "1337")
    machine.wait_listening(1337)
    result = machine.run("run", "server", **extra)
    assert result.returncode == 0, result.stdout + result.stderr
    printed, _ = learner.communicate(timeout=30)
    return printed.strip()


def device_login(machine: Laptop, server: ClassServer, browser: Browser) -> None:  # noqa: F811
    """`sockdojo login URL` on the laptop, approved in Chromium after registering."""
    from playwright.sync_api import expect

    login = machine.start("login", server.url)
    assert login.stdout is not None
    printed = []
    complete = None
    for _ in range(30):
        line = login.stdout.readline()
        printed.append(line)
        if "(or open " in line:
            complete = line.split("(or open ", 1)[1].rstrip().rstrip(")")
            break
    assert complete and complete.startswith(f"{server.url}/device?user_code="), printed
    user_code = complete.rsplit("=", 1)[1]
    assert any(line.strip() == user_code for line in printed), printed
    page = browser.new_page()
    page.goto(f"{server.url}/register")
    page.fill("#name", machine.name)
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("button:has-text('Create my account')")
    page.goto(complete)
    expect(page.locator("#device-user-code")).to_have_text(user_code)
    expect(page.locator("#device-host")).to_have_text(socket.gethostname())
    expect(page.locator("#device-platform")).to_contain_text("Linux")
    page.click("button:has-text('Approve')")
    expect(page.locator("#device-result")).to_have_text("Approved")
    output, _ = login.communicate(timeout=60)
    assert login.returncode == 0, "".join(printed) + output
    assert f"Logged in to {server.url} as {machine.name}" in output
    page.close()


def test_three_laptops_solve_on_one_class_server(
    processes: Processes,
    class_server: ClassServer,
    laptops: Callable[[str], Laptop],
    browser: Browser,  # noqa: F811
) -> None:
    ada, bob, cyd = (laptops(name) for name in ("ada", "bob", "cyd"))
    # Three laptops: three network namespaces, none of them the test's (or the server's).
    spaces = {os.readlink("/proc/self/ns/net")}
    for machine in (ada, bob, cyd):
        seen = subprocess.run(
            machine.inside("readlink", "/proc/self/ns/net"),
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        spaces.add(seen.stdout.strip())
    assert len(spaces) == 4, spaces

    # ada: the device flow, approved in the browser.
    device_login(ada, class_server, browser)
    stored = ada.config / "login.json"
    assert stored.stat().st_mode & 0o777 == 0o600
    assert json.loads(stored.read_text())["server"] == class_server.url
    # bob: a token from the account page, given on stdin.
    bob_token = web_account_token(class_server.url, "bob")
    logged = bob.run("login", class_server.url, "--with-token", input=bob_token + "\n")
    assert logged.returncode == 0, logged.stderr
    # cyd: only the environment (a script, CI).
    cyd_token = web_account_token(class_server.url, "cyd")
    as_cyd: ClassEnv = {"SOCKDOJO_SERVER": class_server.url, "SOCKDOJO_TOKEN": cyd_token}

    logged_in: ClassEnv = {}  # by `sockdojo login`
    for machine, extra in ((ada, logged_in), (bob, logged_in), (cyd, as_cyd)):
        who = machine.run("whoami", **extra)
        assert who.stdout.strip() == f"{machine.name} on {class_server.url}", who.stderr

    # ada solves client; bob solves server; cyd solves client.
    ada_flag = solve_client(ada, processes)
    assert ada.run("submit", ada_flag).returncode == 0
    bob_flag = solve_server(bob)
    assert bob.run("submit", bob_flag).returncode == 0
    cyd_flag = solve_client(cyd, processes, **as_cyd)
    assert cyd.run("submit", cyd_flag, **as_cyd).returncode == 0

    # cyd runs the server challenge with nothing listening: the run fails with a diagnosis,
    # and the report carries its code.
    failed = cyd.run("run", "server", **as_cyd)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    with api_contract.client(base_url=class_server.url, timeout=10) as http:
        cyd_runs = http.get("/api/v1/runs", headers={"Authorization": f"Bearer {cyd_token}"})
    last = cyd_runs.json()["runs"][0]
    assert (last["challenge"], last["passed"]) == ("server", False)
    assert len(last["diagnoses"]) == 1, last
    assert last["diagnoses"][0] in failed.stdout or "listen" in failed.stdout

    # A flag minted for one learner is refused for another.
    stolen = bob.run("submit", ada_flag)
    assert stolen.returncode == 1
    assert "not yours" in stolen.stdout
    listed = json.loads(bob.run("list", "--json").stdout)
    assert listed["account"] == "bob"
    assert [c["id"] for c in listed["challenges"] if c["solved"]] == ["server"]

    # The class board shows exactly what they did.
    board = json.loads(cyd.run("scoreboard", "--json", **as_cyd).stdout)
    # The server's own shape, as the API declares it.
    api_contract.conforms("GET", "/api/v1/modules/sockets/scoreboard", 200, board)
    assert sorted((row["hacker"], row["score"]) for row in board["rows"]) == [
        ("ada", 1),
        ("bob", 1),
        ("cyd", 1),
    ]
    assert board["me"]["hacker"] == "cyd"

    # Every run reported to the server, each to its own learner.
    with api_contract.client(base_url=class_server.url, timeout=10) as http:
        runs = http.get("/api/v1/runs", headers={"Authorization": f"Bearer {bob_token}"}).json()
    assert [(run["challenge"], run["passed"]) for run in runs["runs"]] == [("server", True)]

    # The instructor view and its grade book show the same.
    with api_contract.client(base_url=class_server.url, timeout=10) as teacher:
        csrf = teacher.get("/api/v1/me").json()["csrf_token"]
        signed = teacher.post(
            "/login", data={"csrf_token": csrf, "name": "teacher", "password": PASSWORD}
        )
        assert signed.status_code == 303
        view = teacher.get("/api/v1/admin/class").json()
        gradebook = teacher.get("/admin/class/gradebook.csv").text
    solved = {
        row["hacker"]: sorted(
            c for c, cell in row["challenges"].items() if cell["state"] == "solved"
        )
        for row in view["learners"]
    }
    assert solved == {"ada": ["client"], "bob": ["server"], "cyd": ["client"]}
    assert view["stuck"] == [
        {
            "challenge": "server",
            "diagnosis": last["diagnoses"][0],
            "learners": ["cyd"],
            "solved_after": [],
        }
    ]
    book = {row["hacker"]: row for row in csv.DictReader(io.StringIO(gradebook))}
    assert {name: row["total"] for name, row in book.items()} == {
        "ada": "1",
        "bob": "1",
        "cyd": "1",
    }
    bob_row = next(row for row in view["learners"] if row["hacker"] == "bob")
    assert book["bob"]["server"] == bob_row["challenges"]["server"]["solved_at"]

    # No laptop holds the class secret, nor a local database.
    secret = class_server.secret()
    for machine in (ada, bob, cyd):
        for path in machine.files():
            assert secret not in path.read_bytes(), path
        assert not (machine.home / "sockdojo-data" / "flag-secret").exists()

    # bob logs out: the token is revoked on the server, and refused from then on.
    out = bob.run("logout")
    assert out.returncode == 0 and "Revoked" in out.stdout, out.stdout + out.stderr
    assert not (bob.config / "login.json").exists()
    refused = bob.run("whoami", SOCKDOJO_SERVER=class_server.url, SOCKDOJO_TOKEN=bob_token)
    assert refused.returncode == 2
    assert "refused your login" in refused.stderr and "Traceback" not in refused.stderr
    # Logged out, bob's CLI is the local dojo again.
    assert "local dojo" in bob.run("whoami").stdout


def test_the_server_stopped_in_the_middle_of_a_run(
    class_server: ClassServer, laptops: Callable[[str], Laptop]
) -> None:
    dana = laptops("dana")
    dana.log_in(class_server.url)
    run = dana.start("run", "reuse-address", str(REUSE_OK))
    assert run.stdout is not None
    for _ in range(40):
        line = run.stdout.readline()
        if line.startswith("Behaviour proof") or not line:
            break
    # The proof runs the program for a few seconds; the flag is due at its end.
    os.kill(class_server.process.pid, signal.SIGKILL)
    class_server.process.wait(timeout=10)
    output, _ = run.communicate(timeout=60)
    assert run.returncode == 1, output
    assert "Your program did the right thing" in output
    assert class_server.url in output and "run the challenge again" in output.lower()
    assert "Traceback" not in output


def test_a_server_that_stops_answering_is_named_and_the_run_ends(
    class_server: ClassServer, laptops: Callable[[str], Laptop]
) -> None:
    erin = laptops("erin")
    erin.log_in(class_server.url)
    # The challenge starts without the server: its flag is only minted once a client earns it.
    os.kill(class_server.process.pid, signal.SIGSTOP)
    try:
        serving = erin.start("run", "client", "--once")
        erin.wait_listening(1337)
        got = erin.run_learner("seed_client.py", "1337")
        output, _ = serving.communicate(timeout=60)
    finally:
        os.kill(class_server.process.pid, signal.SIGCONT)
    assert "sockdojo{" not in got
    assert serving.returncode == 1, output
    assert "Your program did the right thing" in output
    assert class_server.url in output and "did not answer within" in output
    assert "Traceback" not in output
    # Answering again, the same laptop gets on with it.
    assert erin.run("whoami").stdout.strip() == f"erin on {class_server.url}"
