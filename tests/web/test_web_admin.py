"""Admin: hiding accounts, granting badges, the launch date, and the CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import TYPE_CHECKING

import httpx

from sockdojo.storage.database import Store

if TYPE_CHECKING:
    from starlette.testclient import TestClient

    from web.conftest import Harness

BOARD = "/api/v1/modules/sockets/scoreboard"


def hackers(client: TestClient, days: int = 30) -> list[str]:
    return [row["hacker"] for row in client.get(f"{BOARD}?days={days}").json()["rows"]]


def post(dojo: Harness, client: TestClient, path: str, **form: str) -> httpx.Response:
    # To mypy, TestClient's answers are Any (see web/conftest.py): declared what they are.
    response: httpx.Response = client.post(path, data={"csrf_token": dojo.csrf(client), **form})
    return response


def test_admin_page_lists_accounts(dojo: Harness) -> None:
    admin, _ = dojo.signed_in("root", admin=True)
    dojo.account("alice")
    page = admin.get("/admin")
    assert page.status_code == 200
    assert 'data-account="alice"' in page.text
    assert "(no password)" in page.text
    assert 'href="/admin"' in admin.get("/").text


def test_hide_and_unhide(dojo: Harness) -> None:
    admin, _ = dojo.signed_in("root", admin=True)
    alice, bob = dojo.account("alice"), dojo.account("bob")
    dojo.solve(alice, "client", dojo.clock.now - dt.timedelta(hours=2))
    dojo.solve(bob, "client")
    assert hackers(admin) == ["alice", "bob"]
    answer = post(dojo, admin, f"/admin/accounts/{alice.id}/hidden", hidden="1")
    assert answer.status_code == 303
    assert ("ok", "alice is now hidden from the scoreboard.") in dojo.flashes(admin, "/admin")
    assert hackers(admin) == ["bob"]
    assert dojo.client().get("/hacker/alice").status_code == 404
    # First blood passes to the earliest visible solver.
    assert admin.get(BOARD).json()["rows"][0]["badges"] == ["🩸"]
    post(dojo, admin, f"/admin/accounts/{alice.id}/hidden", hidden="0")
    assert hackers(admin) == ["alice", "bob"]
    post(dojo, admin, "/admin/accounts/999/hidden", hidden="1")
    assert ("error", "There is no such account.") in dojo.flashes(admin, "/admin")


def test_grant_and_revoke_badges(dojo: Harness, store: Store) -> None:
    admin, _ = dojo.signed_in("root", admin=True)
    alice = dojo.account("alice")
    dojo.solve(alice, "client")
    post(dojo, admin, "/admin/badges", hacker="Alice", emoji="⭐", title="Helped a classmate")
    assert ("ok", "Badge granted.") in dojo.flashes(admin, "/admin")
    row = admin.get(BOARD).json()["rows"][0]
    assert row["badges"] == ["🩸", "⭐"]
    assert row["awards"][1] == {"emoji": "⭐", "title": "Helped a classmate", "kind": "granted"}
    assert "Helped a classmate" in dojo.client().get("/hacker/alice").text
    page = admin.get("/admin").text
    assert "Helped a classmate" in page

    post(dojo, admin, "/admin/badges", hacker="nobody", emoji="⭐", title="x")
    assert ("error", "There is no hacker by that name.") in dojo.flashes(admin, "/admin")
    post(dojo, admin, "/admin/badges", hacker="alice", emoji="", title="x")
    post(dojo, admin, "/admin/badges", hacker="alice", emoji="⭐", title="x" * 101)
    kinds = [kind for kind, _ in dojo.flashes(admin, "/admin")]
    assert kinds == ["error", "error"]

    from sockdojo.storage.models import BadgeGrant

    with store.session() as session:
        badge_id = session.query(BadgeGrant).one().id
    post(dojo, admin, f"/admin/badges/{badge_id}/revoke")
    assert admin.get(BOARD).json()["rows"][0]["badges"] == ["🩸"]
    post(dojo, admin, f"/admin/badges/{badge_id}/revoke")
    assert ("error", "There is no such badge.") in dojo.flashes(admin, "/admin")


def test_launch_date(dojo: Harness) -> None:
    admin, _ = dojo.signed_in("root", admin=True)
    alice, bob = dojo.account("alice"), dojo.account("bob")
    now = dojo.clock.now
    dojo.solve(alice, "client", now - dt.timedelta(days=3))
    dojo.solve(bob, "client", now - dt.timedelta(hours=1))
    assert hackers(admin, 0) == ["alice", "bob"]
    launch = (now - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    post(dojo, admin, "/admin/launch", launched_at=launch)
    assert hackers(admin, 0) == ["bob"]
    assert hackers(admin, 30) == ["bob"]
    page = admin.get("/sockets/").text
    assert f"on {(now - dt.timedelta(days=1)):%Y-%m-%d %H:%M} UTC" in page
    assert f'value="{launch}"' in admin.get("/admin").text
    post(dojo, admin, "/admin/launch", launched_at="next tuesday")
    assert ("error", "Give the launch date as YYYY-MM-DD HH:MM (UTC).") in dojo.flashes(
        admin, "/admin"
    )
    assert hackers(admin, 0) == ["bob"]


def test_csv_export(dojo: Harness) -> None:
    admin, _ = dojo.signed_in("root", admin=True)
    alice = dojo.account("alice")
    ghost = dojo.account("ghost", hidden=True)
    first = dojo.clock.now - dt.timedelta(days=2)
    dojo.solve(alice, "client", first)
    dojo.solve(ghost, "server", first + dt.timedelta(hours=1))
    answer = admin.get("/admin/solves.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["hacker"], r["challenge"], r["hidden"]) for r in rows] == [
        ("alice", "client", "0"),
        ("ghost", "server", "1"),
    ]
    assert dt.datetime.fromisoformat(rows[0]["solved_at"]) == first


def test_csv_export_defuses_formulas(dojo: Harness) -> None:
    from sockdojo.storage import accounts

    admin, _ = dojo.signed_in("root", admin=True)
    sneaky = accounts.create(dojo.store, "=HYPERLINK(1)")  # made behind the dojo's back
    dojo.solve(sneaky, "client")
    rows = list(csv.DictReader(io.StringIO(admin.get("/admin/solves.csv").text)))
    assert rows[0]["hacker"] == "'=HYPERLINK(1)"
