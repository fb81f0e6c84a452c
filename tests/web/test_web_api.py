"""The JSON API, in process, against its contract and its OpenAPI description (every answer
the harness's clients get is also checked against that description: `api_contract`)."""

from __future__ import annotations

import datetime as dt
import json
import typing
from typing import TYPE_CHECKING

import httpx
import msgspec
import pytest
from jsonschema import Draft202012Validator
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import api_contract
from sockdojo import api_shapes
from sockdojo.challenges import registry
from sockdojo.scoreboard.model import BadgeKind
from sockdojo.storage.database import Store
from sockdojo.storage.device_codes import Poll
from sockdojo.web import class_api
from sockdojo.web.api_routes import PREFIX, ApiRoute
from sockdojo.web.openapi import document

if TYPE_CHECKING:
    from web.conftest import Harness

BOARD = "/api/v1/modules/sockets/scoreboard"


def test_scoreboard_contract(dojo: Harness) -> None:
    alice, bob, carol = dojo.account("alice"), dojo.account("bob"), dojo.account("carol")
    now = dojo.clock.now
    for challenge in ("client", "server", "server-loop"):
        dojo.solve(alice, challenge, now - dt.timedelta(days=1))
    dojo.solve(bob, "client", now - dt.timedelta(days=2))
    dojo.solve(carol, "client", now - dt.timedelta(days=20))
    dojo.solve(carol, "server", now - dt.timedelta(days=45))
    board = dojo.client().get(BOARD).json()
    assert set(board) == {"days", "rows", "me"}
    assert board["days"] == 30
    assert board["me"] is None
    first = board["rows"][0]
    assert {"rank", "hacker", "badges", "score"} <= set(first)
    assert [(r["rank"], r["hacker"], r["score"]) for r in board["rows"]] == [
        (1, "alice", 3),
        (2, "carol", 1),
        (3, "bob", 1),
    ]
    # First blood: carol on client (20 days ago) and server (45 days ago), alice on server-loop.
    assert first["badges"] == ["🩸"]
    assert first["awards"] == [
        {"emoji": "🩸", "title": "First blood: A server that keeps serving", "kind": "first_blood"}
    ]
    assert board["rows"][1]["badges"] == ["🩸", "🩸"]
    assert board["rows"][2]["badges"] == []
    assert dt.datetime.fromisoformat(first["last_solve_at"]) == now - dt.timedelta(days=1)


def test_scoreboard_windows_and_errors(dojo: Harness) -> None:
    alice = dojo.account("alice")
    now = dojo.clock.now
    dojo.solve(alice, "client", now - dt.timedelta(days=3))
    dojo.solve(alice, "server", now - dt.timedelta(days=10))
    dojo.solve(alice, "eight-ball", now - dt.timedelta(days=60))
    client = dojo.client()
    scores = {days: client.get(f"{BOARD}?days={days}").json() for days in (30, 7, 0)}
    assert [scores[d]["rows"][0]["score"] for d in (30, 7, 0)] == [2, 1, 3]
    assert client.get(BOARD).json()["rows"] == scores[30]["rows"]
    for bad in ("1", "-7", "30.0", "x", "7;DROP TABLE solves"):
        answer = client.get(BOARD, params={"days": bad})
        assert answer.status_code == 400
        assert answer.json() == {"error": "days must be 30, 7 or 0 (all time)."}
    assert client.get("/api/v1/modules/nope/scoreboard").status_code == 404


def test_scoreboard_me(dojo: Harness) -> None:
    client, alice = dojo.signed_in("alice")
    assert client.get(BOARD).json()["me"] is None  # no solves yet
    for number in range(25):
        other = dojo.account(f"h{number}")
        dojo.solve(other, "client", dojo.clock.now - dt.timedelta(hours=30 - number))
    dojo.solve(alice, "client")
    board = client.get(BOARD).json()
    assert len(board["rows"]) == 20
    assert board["me"]["hacker"] == "alice"
    assert board["me"]["rank"] == 26
    assert board["me"]["score"] == 1


def test_scoreboard_me_is_null_for_hidden_and_admins(dojo: Harness) -> None:
    for kind in ("hidden", "admin"):
        client, account = dojo.signed_in(kind, **{kind: True})
        dojo.solve(account, "client")
        board = client.get(BOARD).json()
        assert board["me"] is None
        assert board["rows"] == []


def test_modules(dojo: Harness) -> None:
    client, alice = dojo.signed_in("alice")
    dojo.solve(alice, "server")
    assert client.get("/api/v1/modules").json() == {
        "modules": [{"id": "sockets", "title": "Sockets", "challenges": 5, "solved": 1}]
    }


def test_challenges_with_solved_state(dojo: Harness) -> None:
    client, alice = dojo.signed_in("alice")
    dojo.solve(alice, "server", dojo.clock.now - dt.timedelta(hours=1))
    dojo.solve(dojo.account("bob"), "server")
    listed = client.get("/api/v1/modules/sockets/challenges").json()["challenges"]
    assert [c["id"] for c in listed] == [c.id for c in registry.CHALLENGES]
    server = listed[1]
    assert server["solved"] is True
    assert server["solves"] == 2
    assert dt.datetime.fromisoformat(server["solved_at"]) == dojo.clock.now - dt.timedelta(hours=1)
    assert listed[0]["solved"] is False and listed[0]["solved_at"] is None
    assert listed[0]["run"] == "sockdojo run client"
    anonymous = dojo.client().get("/api/v1/modules/sockets/challenges").json()["challenges"]
    assert not any(c["solved"] for c in anonymous)
    assert dojo.client().get("/api/v1/modules/other/challenges").status_code == 404


def test_me(dojo: Harness) -> None:
    anonymous = dojo.client().get("/api/v1/me").json()
    assert anonymous["account"] is None and len(anonymous["csrf_token"]) >= 32
    client, _ = dojo.signed_in("root", admin=True)
    assert client.get("/api/v1/me").json()["account"] == {
        "name": "root",
        "admin": True,
        "hidden": False,
    }


def test_submit_through_the_api(dojo: Harness, store: Store) -> None:
    client, alice = dojo.signed_in("alice")
    answer = dojo.api_submit(client, f"  {dojo.flag(alice, 'eight-ball')}\n")
    assert answer.status_code == 200
    assert answer.json() == {
        "correct": True,
        "verdict": "solved",
        "challenge": "eight-ball",
        "message": "Correct! You solved Magic 8-ball client.",
    }
    again = dojo.api_submit(client, dojo.flag(alice, "eight-ball")).json()
    assert again["verdict"] == "already_solved" and again["correct"] is True
    wrong_place = dojo.api_submit(client, dojo.flag(alice, "client"), challenge="server").json()
    assert wrong_place["verdict"] == "wrong_challenge" and wrong_place["correct"] is False
    cut = dojo.api_submit(client, dojo.flag(alice, "client")[:20]).json()
    assert cut["verdict"] == "truncated"
    assert client.get(BOARD).json()["me"]["score"] == 1


def test_submit_api_refusals(dojo: Harness) -> None:
    client, _ = dojo.signed_in("alice")
    url = "/api/v1/modules/sockets/submissions"
    token = dojo.csrf(client)
    assert client.post(url, json={"flag": "x"}).status_code == 403  # no CSRF header
    assert client.post(url, json={"flag": "x"}, headers={"X-CSRF-Token": "bad"}).status_code == 403
    form = client.post(url, data={"flag": "x"}, headers={"X-CSRF-Token": token})
    assert form.status_code == 415
    for body in ({"flag": 3}, {"nope": "x"}, ["x"], {"flag": "x", "challenge": "nope"}):
        answer = client.post(url, json=body, headers={"X-CSRF-Token": token})
        assert answer.status_code == 400, body
        assert "error" in answer.json()
    broken = client.post(
        url,
        content=b"{not json",
        headers={"X-CSRF-Token": token, "Content-Type": "application/json"},
    )
    assert broken.status_code == 400
    huge = client.post(url, json={"flag": "x" * 20_000}, headers={"X-CSRF-Token": token})
    assert huge.status_code == 413
    anonymous = dojo.client()
    answer = dojo.api_submit(anonymous, "sockdojo{x}")
    assert answer.status_code == 401
    assert answer.json() == {"error": "Log in first."}


def test_hacker_endpoint(dojo: Harness) -> None:
    alice = dojo.account("alice")
    dojo.solve(alice, "client", dojo.clock.now - dt.timedelta(days=8))
    found = dojo.client().get("/api/v1/hackers/alice").json()
    assert found["hacker"] == "alice"
    assert [s["challenge"] for s in found["solves"]] == ["client"]
    assert found["standings"] == [
        {"days": 30, "rank": 1, "score": 1},
        {"days": 7, "rank": None, "score": 0},
        {"days": 0, "rank": 1, "score": 1},
    ]
    assert dojo.client().get("/api/v1/hackers/nobody").status_code == 404


def test_openapi_describes_every_api_route(dojo: Harness) -> None:
    served = dojo.client().get("/api/v1/openapi.json")
    assert served.status_code == 200
    described = served.json()
    assert described == document(dojo.app.routes) == api_contract.served_document()
    assert described["openapi"].startswith("3.1")
    routes: dict[str, set[str]] = {}
    for route in dojo.app.routes:
        if isinstance(route, Route) and route.path.startswith(PREFIX):
            # Every route under the API declares what it takes and answers.
            assert isinstance(route, ApiRoute), route.path
            methods = {method.lower() for method in (route.methods or ())} - {"head"}
            routes.setdefault(route.path, set()).update(methods)
    paths = {path: set(operations) for path, operations in described["paths"].items()}
    assert paths == routes
    for operations in described["paths"].values():
        for operation in operations.values():
            assert operation["summary"]
            assert {"200", "201"} & set(operation["responses"])
            assert {"500", "503"} <= set(operation["responses"])


def test_openapi_schema_references_resolve(dojo: Harness) -> None:
    described = document(dojo.app.routes)
    schemas = described["components"]["schemas"]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                assert node["$ref"].removeprefix("#/components/schemas/") in schemas
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(described)
    for schema in schemas.values():
        Draft202012Validator.check_schema(schema)


def test_the_contract_check_refuses_what_the_document_does_not_declare(dojo: Harness) -> None:
    """The check every API test runs can fail: answers the document does not declare."""
    alice = dojo.account("alice")
    dojo.solve(alice, "client")
    answer = dojo.client().get(BOARD)
    board = answer.json()
    headers, status = answer.headers, answer.status_code

    def refused(body: object, *, code: int = status, path: str = BOARD) -> None:
        with pytest.raises(api_contract.ContractBroken):
            api_contract.validate("GET", path, code, headers, json.dumps(body).encode())

    api_contract.validate("GET", BOARD, status, headers, answer.content)  # as served: fine
    row = board["rows"][0]
    refused({**board, "rows": [{k: v for k, v in row.items() if k != "awards"}]})  # missing
    refused({**board, "rows": [{**row, "account_id": 1}]})  # a field not declared
    refused({**board, "rows": [{**row, "score": "1"}]})  # wrong type
    refused({**board, "days": 1})  # not a window
    refused({**board, "me": {**row, "awards": [{"emoji": "x", "title": "t", "kind": "gold"}]}})
    refused(board, code=418)  # a status the operation does not declare
    refused(board, path="/api/v1/nowhere")  # a path the document does not have
    with pytest.raises(api_contract.ContractBroken):  # not JSON at all
        api_contract.validate("GET", BOARD, 200, httpx.Headers({"content-type": "text/html"}), b"")
    with pytest.raises(api_contract.ContractBroken):  # a 429 without its Retry-After
        api_contract.validate(
            "POST",
            "/api/v1/modules/sockets/submissions",
            429,
            headers,
            b'{"error": "Slow down.", "retry_after": 3}',
        )


def test_the_harness_clients_check_every_api_answer(dojo: Harness) -> None:
    """A handler that answers a shape the document does not declare fails the test that
    calls it, with no check written in that test."""

    async def half_a_module(request: Request) -> JSONResponse:
        return JSONResponse({"modules": [{"id": "sockets", "title": "Sockets"}]})

    # Ahead of the real route: the same path, a shape the document does not declare.
    dojo.app.router.routes.insert(0, Route("/api/v1/modules", half_a_module))
    client = dojo.client()
    assert client.get("/sockets/").status_code == 200  # not the API: not checked
    with pytest.raises(api_contract.ContractBroken, match="challenges"):
        client.get("/api/v1/modules")


def test_shapes_agree_with_the_types_they_mirror() -> None:
    """The document enumerates the badge kinds, and the class API's OAuth errors cover every
    poll of a device code that gives no token."""
    award_kinds = msgspec.json.schema(api_shapes.Award)["$defs"]["Award"]["properties"]["kind"]
    assert award_kinds["enum"] == list(typing.get_args(BadgeKind))
    assert set(class_api.OAUTH_ERRORS) | {Poll.GRANTED} == set(Poll)
    assert all(code == poll.value for poll, code in class_api.OAUTH_ERRORS.items())
    assert set(typing.get_args(api_shapes.OAuthErrorCode)) == {
        *class_api.OAUTH_ERRORS.values(),
        "unsupported_grant_type",
    }
