"""Odd input gets a 4xx in our error shape, never a 500 (issue 11, item 6); on SQLite and
PostgreSQL, as some of it (NUL) only failed on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from sockdojo.storage.database import Store

if TYPE_CHECKING:
    from web.conftest import Harness

SUBMIT = "/api/v1/modules/sockets/submissions"


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """The web harness (`dojo`) over SQLite and PostgreSQL."""
    made = Store(database_url)
    yield made
    made.dispose()


@pytest.mark.parametrize(
    "body",
    [
        '{"flag": "\\ud800"}',
        '{"flag": "sockdojo{x}", "challenge": "\\udfff"}',
        "[" * 1000 + "]" * 1000,
        '{"a":' * 1000 + "1" + "}" * 1000,
    ],
    ids=["lone-surrogate", "surrogate-challenge", "deep-list", "deep-object"],
)
def test_odd_json_is_a_400_in_json(dojo: Harness, body: str) -> None:
    client, _ = dojo.signed_in("alice")
    answer = client.post(
        SUBMIT,
        content=body,
        headers={"X-CSRF-Token": dojo.csrf(client), "content-type": "application/json"},
    )
    assert answer.status_code == 400
    assert isinstance(answer.json()["error"], str)


def test_nul_in_names_is_refused_not_a_500(dojo: Harness) -> None:
    assert dojo.register(dojo.client(), "al\x00ice").status_code == 400
    login = dojo.login(dojo.client(), "al\x00ice")
    assert login.status_code == 400 and "NUL character" in login.text
    admin, _ = dojo.signed_in("boss", admin=True)
    grant = admin.post(
        "/admin/badges",
        data={"csrf_token": dojo.csrf(admin), "hacker": "boss", "emoji": "*", "title": "a\x00b"},
    )
    assert grant.status_code == 400
    assert dojo.client().get("/hacker/al%00ice").status_code == 404


def test_nul_in_a_flag_is_judged_not_refused(dojo: Harness) -> None:
    client, _ = dojo.signed_in("alice")
    assert dojo.submit(client, "client", "sockdojo{\x00}").status_code == 303
    assert dojo.api_submit(client, "sockdojo{\x00}").json()["verdict"] == "not_a_flag"


@pytest.mark.parametrize(
    "when",
    ["9999-12-31T23:59-01:00", "0001-01-01T00:00+01:00", "9999-12-31T23:59", "0001-01-01T00:00"],
)
def test_a_launch_date_at_the_calendars_ends_is_refused(dojo: Harness, when: str) -> None:
    admin, _ = dojo.signed_in("boss", admin=True)
    answer = admin.post("/admin/launch", data={"csrf_token": dojo.csrf(admin), "launched_at": when})
    assert answer.status_code == 303
    assert dojo.flashes(admin, "/admin")[0][1].startswith("Give ")
    assert admin.get("/sockets/").status_code == 200


def test_an_internal_error_is_our_500_with_the_security_headers(dojo: Harness) -> None:
    client = dojo.client()
    # A bug of ours: calling either fails.
    dojo.app.state.dojo.challenge_states = None
    dojo.app.state.dojo.module_page = None
    page = client.get("/sockets/")
    assert page.status_code == 500
    assert page.headers["x-frame-options"] == "DENY"
    assert "went wrong on our side" in page.text
    api = client.get("/api/v1/modules/sockets/challenges")
    assert api.status_code == 500 and "on our side" in api.json()["error"]


def test_a_body_declared_too_large_answers_in_the_apis_shape(dojo: Harness) -> None:
    client, _ = dojo.signed_in("alice")
    answer = client.post(
        SUBMIT,
        content=b"x" * 100_000,
        headers={"X-CSRF-Token": dojo.csrf(client), "content-type": "application/json"},
    )
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["error"]
    page = client.post("/login", content=b"x" * 100_000)
    assert page.status_code == 413 and page.headers["content-type"].startswith("text/html")
