"""The instructor view, the grade book and their JSON, built from real runs and solves."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

from class_mode.harness import ClassHarness

MINT = "/api/v1/modules/sockets/challenges/{}/flag"


def _run(dojo: ClassHarness, token: str, challenge: str, passed: bool, *codes: str) -> None:
    report = {"challenge": challenge, "passed": passed, "diagnoses": list(codes), "duration_ms": 9}
    answer = dojo.client().post("/api/v1/runs", json=report, headers=dojo.bearer(token))
    assert answer.status_code == 201


def _solve(dojo: ClassHarness, token: str, challenge: str) -> None:
    cli = dojo.client()
    flag = cli.post(MINT.format(challenge), headers=dojo.bearer(token)).json()["flag"]
    sent = cli.post(
        "/api/v1/modules/sockets/submissions", json={"flag": flag}, headers=dojo.bearer(token)
    )
    assert sent.json()["verdict"] == "solved"


def test_matrix_stuck_codes_and_gradebook(class_dojo: ClassHarness) -> None:
    teacher, _ = class_dojo.signed_in("teacher", admin=True)
    tokens = {}
    for name in ("ada", "bob", "cyd"):
        browser, _ = class_dojo.signed_in(name)
        tokens[name] = class_dojo.token(browser)
    # ada: refused twice on server, then solves it. bob: refused once, never solves.
    _run(class_dojo, tokens["ada"], "server", False, "nothing-listening")
    class_dojo.clock.advance(seconds=5)
    _run(class_dojo, tokens["ada"], "server", False, "nothing-listening")
    class_dojo.clock.advance(seconds=5)
    _run(class_dojo, tokens["ada"], "server", True)
    _solve(class_dojo, tokens["ada"], "server")
    _run(class_dojo, tokens["bob"], "server", False, "nothing-listening", "udp-server")
    # Met long ago: out of the 7-day window, but still in the matrix.
    class_dojo.clock.advance(days=8)
    _run(class_dojo, tokens["bob"], "client", False, "truncated")

    page = teacher.get("/admin/class")
    assert page.status_code == 200
    data = teacher.get("/api/v1/admin/class").json()
    by_name = {row["hacker"]: row["challenges"] for row in data["learners"]}
    assert set(by_name) == {"ada", "bob", "cyd"}  # admins are not learners
    assert by_name["ada"]["server"]["state"] == "solved"
    assert by_name["ada"]["server"]["runs"] == 3
    assert by_name["bob"]["server"] == {
        "state": "attempted",
        "solved_at": None,
        "last_diagnosis": "udp-server",
        "runs": 1,
    }
    assert by_name["bob"]["client"]["last_diagnosis"] == "truncated"
    assert by_name["cyd"]["server"]["state"] == "not_started"
    # The window is 7 days from now: everything above but bob's client run is 8 days old.
    assert data["stuck"] == [
        {"challenge": "client", "diagnosis": "truncated", "learners": ["bob"], "solved_after": []}
    ]
    class_dojo.clock.advance(days=-8)
    stuck = teacher.get("/api/v1/admin/class").json()["stuck"]
    assert {
        "challenge": "server",
        "diagnosis": "nothing-listening",
        "learners": ["ada", "bob"],
        "solved_after": ["ada"],
    } in stuck
    html = teacher.get("/admin/class").text
    assert 'href="/hacker/bob"' in html
    # The page's table shows the same rows as the API (one shape for both).
    assert "<td>server</td><td><code>nothing-listening</code></td>" in html
    assert "<td>1 of 2</td>" in html
    # The matrix, from the same shape: a solve with its time, an attempt with its last code.
    solved = dt.datetime.fromisoformat(by_name["ada"]["server"]["solved_at"])
    assert re.search(
        r'<tr data-hacker="ada">.*?data-challenge="server">\s*solved <span class="muted">'
        + solved.strftime("%Y-%m-%d %H:%M UTC"),
        html,
        re.S,
    )
    assert re.search(
        r'<tr data-hacker="bob">.*?data-challenge="server">\s*udp-server'
        r' <span class="muted">\(1 run\)</span>.*?<td class="total">0</td>',
        html,
        re.S,
    )

    rows = list(csv.DictReader(io.StringIO(teacher.get("/admin/class/gradebook.csv").text)))
    assert [row["hacker"] for row in rows] == ["ada", "bob", "cyd"]
    assert rows[0]["server"] == by_name["ada"]["server"]["solved_at"]
    assert rows[0]["client"] == "" and rows[0]["total"] == "1"
    assert rows[1]["total"] == "0"


def test_instructor_view_is_for_admins_in_a_browser_only(class_dojo: ClassHarness) -> None:
    teacher, _ = class_dojo.signed_in("teacher", admin=True)
    learner, _ = class_dojo.signed_in("ada")
    token = class_dojo.token(teacher)
    assert learner.get("/admin/class").status_code == 403
    assert learner.get("/api/v1/admin/class").status_code == 403
    cli = class_dojo.client()
    for path in ("/admin/class", "/admin/class/gradebook.csv", "/api/v1/admin/class"):
        assert cli.get(path, headers=class_dojo.bearer(token)).status_code == 403
