"""Flags minted for CLI runs and run reports, through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from class_mode.harness import ClassHarness
from sockdojo.storage.models import FlagMint, RunReport
from sockdojo.web.classroom import BadSetting, ClassLimits

MINT = "/api/v1/modules/sockets/challenges/{}/flag"


def test_a_minted_flag_is_the_token_owners_and_refused_for_another(
    class_dojo: ClassHarness,
) -> None:
    ada, _ = class_dojo.signed_in("ada")
    bob, _ = class_dojo.signed_in("bob")
    ada_token, bob_token = class_dojo.token(ada), class_dojo.token(bob)
    cli = class_dojo.client()
    minted = cli.post(
        MINT.format("server"), json={"run": "r-1"}, headers=class_dojo.bearer(ada_token)
    )
    assert minted.status_code == 200, minted.text
    flag = minted.json()["flag"]
    stolen = cli.post(
        "/api/v1/modules/sockets/submissions",
        json={"flag": flag},
        headers=class_dojo.bearer(bob_token),
    )
    assert stolen.json()["verdict"] == "not_yours"
    own = cli.post(
        "/api/v1/modules/sockets/submissions",
        json={"flag": flag},
        headers=class_dojo.bearer(ada_token),
    )
    assert own.json()["verdict"] == "solved"
    with class_dojo.store.session() as session:
        mint = session.scalars(select(FlagMint)).one()
        assert (mint.challenge_id, mint.run_key) == ("server", "r-1")
        assert mint.token_id is not None
    assert cli.post(MINT.format("nope"), headers=class_dojo.bearer(ada_token)).status_code == 404


def test_minting_limit_answers_429_with_retry_after(class_dojo: ClassHarness) -> None:
    ada, _ = class_dojo.signed_in("ada")
    token = class_dojo.token(ada)
    cli = class_dojo.client()
    for _ in range(30):
        assert cli.post(MINT.format("client"), headers=class_dojo.bearer(token)).status_code == 200
    refused = cli.post(MINT.format("client"), headers=class_dojo.bearer(token))
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    class_dojo.clock.advance(seconds=61)
    assert cli.post(MINT.format("client"), headers=class_dojo.bearer(token)).status_code == 200


def test_runs_are_stored_and_shown_to_their_owner_only(class_dojo: ClassHarness) -> None:
    ada, _ = class_dojo.signed_in("ada")
    bob, _ = class_dojo.signed_in("bob")
    token = class_dojo.token(ada)
    cli = class_dojo.client()
    report = {
        "challenge": "server",
        "passed": False,
        "diagnoses": ["nothing-listening"],
        "duration_ms": 1234,
        "version": "0.1.0",
        "platform": "Windows 11",
    }
    assert (
        cli.post("/api/v1/runs", json=report, headers=class_dojo.bearer(token)).status_code == 201
    )
    page = ada.get("/hacker/ada").text
    assert "Your last runs" in page and "nothing-listening" in page and "Windows 11" in page
    assert "Your last runs" not in bob.get("/hacker/ada").text
    mine = cli.get("/api/v1/runs", headers=class_dojo.bearer(token)).json()["runs"]
    assert [(r["challenge"], r["passed"], r["diagnoses"]) for r in mine] == [
        ("server", False, ["nothing-listening"])
    ]
    # A browser session cannot report runs.
    assert ada.post("/api/v1/runs", json=report).status_code == 401


CHALLENGE = "challenge must be one of this module's challenges."
PASSED = "passed must be true or false."
DURATION = "duration_ms must be a whole number of milliseconds."
DIAGNOSES = "diagnoses must be a short list of diagnosis codes."
REPORT = {"challenge": "server", "passed": False, "duration_ms": 9}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({**REPORT, "challenge": "nope"}, CHALLENGE),
        ({"passed": False, "duration_ms": 9}, CHALLENGE),
        ({**REPORT, "challenge": 7}, CHALLENGE),
        ({**REPORT, "passed": "yes"}, PASSED),
        ({"challenge": "server", "duration_ms": 9}, PASSED),
        ({**REPORT, "duration_ms": -1}, DURATION),
        ({**REPORT, "duration_ms": 2**31}, DURATION),
        ({**REPORT, "duration_ms": True}, DURATION),
        ({**REPORT, "duration_ms": 9.0}, DURATION),
        ({"challenge": "server", "passed": False}, DURATION),
        ({**REPORT, "diagnoses": ["not a code"]}, DIAGNOSES),
        ({**REPORT, "diagnoses": ["x"] * 21}, DIAGNOSES),
        ({**REPORT, "diagnoses": ["udp-server\n"]}, DIAGNOSES),
        ({**REPORT, "diagnoses": ["x" * 65]}, DIAGNOSES),
        ({**REPORT, "diagnoses": "udp-server"}, DIAGNOSES),
        ({**REPORT, "diagnoses": None}, DIAGNOSES),
        ({**REPORT, "version": 1}, "version must be a string."),
        ({**REPORT, "platform": None}, "platform must be a string."),
        ({**REPORT, "run": ["r-1"]}, "run must be a string."),
        # Several wrong: the message names the first in the report's order, not the body's.
        ({"diagnoses": [1], "passed": "yes", "challenge": "server", "duration_ms": 9}, PASSED),
        ({"run": 1, "duration_ms": -1, "challenge": "nope", "passed": 0}, CHALLENGE),
        ({"platform": 1, "diagnoses": ["A"], **REPORT}, DIAGNOSES),
    ],
)
def test_a_malformed_report_is_refused_with_what_is_wrong(
    class_dojo: ClassHarness, bad: dict[str, object], message: str
) -> None:
    ada, _ = class_dojo.signed_in("ada")
    token = class_dojo.token(ada)
    refused = class_dojo.client().post("/api/v1/runs", json=bad, headers=class_dojo.bearer(token))
    assert (refused.status_code, refused.json()) == (400, {"error": message})
    with class_dojo.store.session() as session:
        assert session.scalars(select(RunReport)).all() == []


def test_a_body_nested_thousands_deep_is_a_400_not_our_500(class_dojo: ClassHarness) -> None:
    # Within the 8 KiB body limit, and past the JSON parser's recursion limit.
    ada, _ = class_dojo.signed_in("ada")
    deep = b'{"challenge": "client", "diagnoses": ' + b"[" * 3000 + b"]" * 3000 + b"}"
    refused = class_dojo.client().post(
        "/api/v1/runs",
        content=deep,
        headers={**class_dojo.bearer(class_dojo.token(ada)), "content-type": "application/json"},
    )
    assert (refused.status_code, refused.json()) == (400, {"error": "The body is not valid JSON."})


def test_a_report_at_the_limits_is_stored_with_its_texts_cut_and_defaulted(
    class_dojo: ClassHarness,
) -> None:
    ada, _ = class_dojo.signed_in("ada")
    token = class_dojo.token(ada)
    cli = class_dojo.client()
    full = {
        **REPORT,
        "duration_ms": 2**31 - 1,
        "diagnoses": ["x"] * 20,
        "version": "v" * 100,
        "run": "r" * 100,
        "extra": "ignored",
    }
    assert cli.post("/api/v1/runs", json=full, headers=class_dojo.bearer(token)).status_code == 201
    bare = cli.post("/api/v1/runs", json=REPORT, headers=class_dojo.bearer(token))
    assert bare.status_code == 201
    runs = cli.get("/api/v1/runs", headers=class_dojo.bearer(token)).json()["runs"]
    assert sorted((r["version"], r["platform"], r["diagnoses"]) for r in runs) == [
        ("unknown", "unknown", []),
        ("v" * 32, "unknown", ["x"] * 20),
    ]
    # A form is read (RFC 8628 clients send forms), but its fields are all text: never a
    # report.
    form = cli.post(
        "/api/v1/runs",
        data={"challenge": "server", "passed": "true", "duration_ms": "9"},
        headers=class_dojo.bearer(token),
    )
    assert (form.status_code, form.json()) == (400, {"error": PASSED})


def test_run_reports_older_than_the_retention_are_dropped(class_dojo: ClassHarness) -> None:
    ada, _ = class_dojo.signed_in("ada")
    token = class_dojo.token(ada, days="366")
    cli = class_dojo.client()
    report = {"challenge": "client", "passed": True, "duration_ms": 5}
    cli.post("/api/v1/runs", json=report, headers=class_dojo.bearer(token))
    class_dojo.clock.advance(days=181)
    cli.post("/api/v1/runs", json=report, headers=class_dojo.bearer(token))
    with class_dojo.store.session() as session:
        assert len(session.scalars(select(RunReport)).all()) == 1


def test_the_retention_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCKDOJO_RUNS_KEPT_DAYS", "30")
    assert ClassLimits().runs_kept == dt.timedelta(days=30)
    monkeypatch.setenv("SOCKDOJO_RUNS_KEPT_DAYS", "soon")
    with pytest.raises(BadSetting, match="number of days"):
        ClassLimits()
