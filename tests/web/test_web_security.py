"""Attacks a web dojo must shrug off: forged forms, hostile names, injected SQL, stolen or
planted sessions, curious non-admins, and guessing at speed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, inspect, select

from sockdojo.flags import HmacFlagAuthority
from sockdojo.storage import accounts
from sockdojo.storage.database import Store
from sockdojo.storage.models import Account, BadgeGrant, LoginAttempt, Solve, Submission

if TYPE_CHECKING:
    from web.conftest import Clock, Harness, MakeHarness

# Every state-changing route, with a form that would otherwise be acceptable.
POSTS = [
    ("/register", {"name": "mallory", "password": "long enough pw", "confirm": "long enough pw"}),
    ("/login", {"name": "alice", "password": "correct horse battery"}),
    ("/logout", {}),
    ("/sockets/client/submit", {"flag": "sockdojo{x}"}),
    ("/admin/accounts/1/hidden", {"hidden": "1"}),
    ("/admin/badges", {"hacker": "alice", "emoji": "⭐", "title": "x"}),
    ("/admin/badges/1/revoke", {}),
    ("/admin/launch", {"launched_at": "2020-01-01T00:00"}),
]


@pytest.mark.parametrize(("path", "form"), POSTS, ids=[p for p, _ in POSTS])
def test_csrf_refused_on_every_form(
    dojo: Harness, store: Store, path: str, form: dict[str, str]
) -> None:
    admin, _ = dojo.signed_in("alice", admin=True)
    with store.session() as session:
        before = {
            table: session.scalar(select(func.count()).select_from(table))
            for table in (Account, BadgeGrant, Submission, LoginAttempt)
        }
    for token in (None, "", "forged", dojo.csrf(dojo.client())):
        data = dict(form)
        if token is not None:
            data["csrf_token"] = token
        answer = admin.post(path, data=data)
        assert answer.status_code == 403, (path, token)
        assert "out of date or came from another site" in answer.text
    with store.session() as session:
        after = {
            table: session.scalar(select(func.count()).select_from(table))
            for table in (Account, BadgeGrant, Submission, LoginAttempt)
        }
        alice = session.get(Account, 1)
        assert alice is not None and not alice.is_hidden
    assert after == before
    assert admin.get("/api/v1/me").json()["account"]["name"] == "alice"  # still signed in


def test_csrf_token_changes_at_login(dojo: Harness) -> None:
    dojo.account("alice", password="correct horse battery")
    client = dojo.client()
    before = dojo.csrf(client)
    dojo.login(client, "alice")
    assert dojo.csrf(client) != before


def test_html_in_hacker_names_is_escaped(dojo: Harness) -> None:
    # Registration refuses such names; an account made another way must still be harmless.
    evil = accounts.create(dojo.store, '<script>alert("x")</script>')
    dojo.solve(evil, "client")
    dojo.account("root", admin=True, password="correct horse battery")
    admin = dojo.client()
    dojo.login(admin, "root")
    for page in ("/sockets/", "/admin", "/sockets/?days=0"):
        html = admin.get(page).text
        assert "<script>" not in html, page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html, page
    # The chart carries the name too, in an attribute.
    assert 'data-hacker="&lt;script&gt;' in admin.get("/sockets/").text
    assert admin.get(BOARD_API).json()["rows"][0]["hacker"] == '<script>alert("x")</script>'


BOARD_API = "/api/v1/modules/sockets/scoreboard"


def test_html_typed_into_forms_is_escaped(dojo: Harness) -> None:
    client = dojo.client()
    answer = dojo.register(client, '"><img src=x onerror=alert(1)>')
    assert answer.status_code == 400
    assert "<img" not in answer.text
    assert 'value="&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"' in answer.text
    login = dojo.login(client, "<b>bold</b>", "whatever pw")
    assert "<b>bold</b>" not in login.text and "&lt;b&gt;bold&lt;/b&gt;" in login.text


SQL = [
    "' OR '1'='1",
    "alice'; DROP TABLE accounts; --",
    '" OR ""="',
    "1; DELETE FROM solves",
    "%' --",
    "\\'; --",
    "Robert'); DROP TABLE solves;--",
]


def _tables_intact(store: Store, accounts_expected: int) -> None:
    names = set(inspect(store.engine).get_table_names())
    assert {"accounts", "solves", "submissions", "badge_grants", "web_sessions"} <= names
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Account)) == accounts_expected


@pytest.mark.parametrize("text", SQL)
def test_sql_metacharacters_in_every_field(dojo: Harness, store: Store, text: str) -> None:
    client, alice = dojo.signed_in("alice", admin=True)
    dojo.solve(alice, "client")
    other = dojo.client()
    # Names: refused as names, never as SQL.
    assert dojo.register(other, text).status_code == 400
    assert dojo.login(other, text, text).status_code == 400
    assert dojo.login(other, "alice", text).status_code == 400
    # A password may hold anything.
    fresh = dojo.client()
    assert dojo.register(fresh, "bobby", password=text + " padded", confirm=text + " padded")
    assert dojo.login(dojo.client(), "bobby", text + " padded").status_code == 303
    # Flags, in the form and the API.
    dojo.submit(client, "client", text)
    assert dojo.api_submit(client, text).json()["verdict"] == "not_a_flag"
    # Paths and query strings.
    assert client.get(f"/hacker/{text}").status_code == 404
    assert client.get("/api/v1/hackers/" + text.replace("/", "%2F")).status_code == 404
    assert client.get(BOARD_API, params={"days": text}).status_code == 400
    assert client.get("/sockets/", params={"days": text}).status_code == 400
    # Admin fields: stored as text, verbatim.
    csrf = dojo.csrf(client)
    client.post(
        "/admin/badges", data={"csrf_token": csrf, "hacker": "alice", "emoji": "⭐", "title": text}
    )
    client.post(
        "/admin/badges", data={"csrf_token": csrf, "hacker": text, "emoji": "⭐", "title": "x"}
    )
    client.post("/admin/launch", data={"csrf_token": csrf, "launched_at": text})
    with store.session() as session:
        assert [b.title for b in session.scalars(select(BadgeGrant))] == [text]
        assert session.scalar(select(func.count()).select_from(Solve)) == 1
        stored = session.scalars(select(Submission.submitted)).all()
    assert len(stored) == 2  # both attempts kept (as cleaned up for checking)
    _tables_intact(store, 2)


def test_session_cookie_flags(
    dojo: Harness, store: Store, authority: HmacFlagAuthority, clock: Clock
) -> None:
    client = dojo.client()
    dojo.account("alice", password="correct horse battery")
    answer = dojo.login(client, "alice")
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie


def test_secure_cookies_when_asked(make_harness: MakeHarness) -> None:
    secure = make_harness(secure_cookies=True)
    secure.account("alice", password="correct horse battery")
    answer = secure.login(secure.client(), "alice")
    assert "; secure" in answer.headers["set-cookie"].lower()


def test_session_fixation_is_useless(dojo: Harness) -> None:
    dojo.account("victim", password="correct horse battery")
    attacker = dojo.client()
    attacker.get("/login")
    planted = dojo.session_cookie(attacker)
    assert planted  # the attacker holds a valid anonymous session cookie...
    victim = dojo.client()
    dojo.plant_session(victim, planted)  # ...and plants it in the victim's browser
    assert dojo.csrf(victim) == dojo.csrf(attacker)  # the plant took
    dojo.login(victim, "victim")
    assert victim.get("/api/v1/me").json()["account"]["name"] == "victim"
    assert dojo.session_cookie(victim) != planted  # the login handed out a new session
    assert attacker.get("/api/v1/me").json()["account"] is None


def test_logout_kills_the_session_on_the_server(dojo: Harness) -> None:
    client, _ = dojo.signed_in("alice")
    stolen = dojo.session_cookie(client)
    assert stolen
    thief = dojo.client()
    dojo.plant_session(thief, stolen)
    assert thief.get("/api/v1/me").json()["account"]["name"] == "alice"
    client.post("/logout", data={"csrf_token": dojo.csrf(client)})
    assert client.get("/api/v1/me").json()["account"] is None
    dojo.plant_session(thief, stolen)
    assert thief.get("/api/v1/me").json()["account"] is None


def test_sessions_expire(dojo: Harness) -> None:
    client, _ = dojo.signed_in("alice")
    dojo.clock.advance(days=13)
    assert client.get("/api/v1/me").json()["account"] is not None
    dojo.clock.advance(days=1, seconds=1)
    assert client.get("/api/v1/me").json()["account"] is None


def test_tampered_cookie_is_ignored(dojo: Harness) -> None:
    client, _ = dojo.signed_in("alice")
    value = dojo.session_cookie(client)
    assert value is not None
    dojo.plant_session(client, value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert client.get("/api/v1/me").json()["account"] is None


ADMIN_GETS = ["/admin", "/admin/solves.csv"]


def test_admin_routes_refuse_non_admins(dojo: Harness, store: Store) -> None:
    target = dojo.account("target")
    dojo.account("root", admin=True)
    anonymous = dojo.client()
    for path in ADMIN_GETS:
        answer = anonymous.get(path)
        assert answer.status_code == 303 and answer.headers["location"] == f"/login?next={path}"
    learner, _ = dojo.signed_in("learner")
    for path in ADMIN_GETS:
        assert learner.get(path).status_code == 403
    token = dojo.csrf(learner)
    attempts = [
        (f"/admin/accounts/{target.id}/hidden", {"hidden": "1"}),
        ("/admin/badges", {"hacker": "learner", "emoji": "👑", "title": "self-made"}),
        ("/admin/launch", {"launched_at": "2000-01-01T00:00"}),
    ]
    for path, form in attempts:
        assert learner.post(path, data={"csrf_token": token, **form}).status_code == 403
        anonymous_token = dojo.csrf(anonymous)
        assert anonymous.post(path, data={"csrf_token": anonymous_token, **form}).status_code in (
            401,
            403,
        )
    with store.session() as session:
        still = session.get(Account, target.id)
        assert still is not None and not still.is_hidden
        assert session.scalar(select(func.count()).select_from(BadgeGrant)) == 0
    assert "Admin" not in re.findall(r'<nav class="bar">.*?</nav>', learner.get("/").text, re.S)[0]


def test_wrong_flags_are_rate_limited(dojo: Harness, store: Store) -> None:
    client, alice = dojo.signed_in("alice")
    for number in range(10):
        dojo.clock.advance(seconds=1)
        assert dojo.submit(client, "client", f"sockdojo{{guess{number}}}").status_code == 303
    dojo.clock.advance(seconds=5)
    refused = dojo.submit(client, "client", "sockdojo{guess10}")
    assert refused.status_code == 429
    # The first wrong flag was 14 s ago: it leaves the minute in 46 s.
    assert refused.headers["retry-after"] == "46"
    assert "wait 46 seconds" in refused.text
    # Even a right flag waits: the limit is on the account, not on wrong flags alone.
    assert dojo.api_submit(client, dojo.flag(alice, "client")).status_code == 429
    api = dojo.api_submit(client, "sockdojo{again}")
    assert api.status_code == 429 and api.headers["retry-after"] == "46"
    assert api.json()["retry_after"] == 46
    dojo.clock.advance(seconds=45)
    assert dojo.api_submit(client, "sockdojo{almost}").headers["retry-after"] == "1"
    dojo.clock.advance(seconds=1)
    assert dojo.api_submit(client, dojo.flag(alice, "client")).json()["verdict"] == "solved"
    with store.session() as session:
        verdicts = session.scalars(select(Submission.verdict).order_by(Submission.id)).all()
    assert verdicts == ["not_a_flag"] * 10 + ["rate_limited"] * 4 + ["solved"]


def test_wrong_flag_limit_is_per_account_and_shared_across_processes(
    dojo: Harness, make_harness: MakeHarness
) -> None:

    client, _ = dojo.signed_in("alice")
    other, _ = dojo.signed_in("bob")
    for number in range(10):
        dojo.submit(client, "client", f"nope{number}")
    assert dojo.submit(client, "client", "nope").status_code == 429
    assert dojo.submit(other, "client", "nope").status_code == 303  # bob is not limited
    # A second server process on the same database sees the same attempts.
    second = make_harness()
    elsewhere = second.client()
    cookie = dojo.session_cookie(client)
    assert cookie is not None
    dojo.plant_session(elsewhere, cookie)
    assert second.api_submit(elsewhere, "nope").status_code == 429


def test_login_attempts_are_rate_limited(dojo: Harness, store: Store) -> None:
    dojo.account("alice", password="correct horse battery")
    dojo.account("bob", password="correct horse battery")
    client = dojo.client()
    for _ in range(5):
        assert dojo.login(client, "alice", "wrong guess!").status_code == 400
    refused = dojo.login(client, "alice")  # even the right password must wait
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) == 300
    assert "Too many failed logins" in refused.text
    assert dojo.login(dojo.client(), "bob").status_code == 303  # other names are not locked
    dojo.clock.advance(minutes=5)
    assert dojo.login(client, "alice").status_code == 303


def test_login_spraying_from_one_address_is_limited(dojo: Harness) -> None:
    client = dojo.client()
    dojo.account("zed", password="correct horse battery")
    for number in range(30):
        assert dojo.login(client, f"name{number}", "wrong guess!").status_code == 400
    assert dojo.login(client, "zed").status_code == 429


def test_registrations_are_rate_limited(dojo: Harness) -> None:
    client = dojo.client()
    for number in range(10):
        dojo.register(dojo.client(), f"user{number}")
    refused = dojo.register(client, "one-more")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "3600"


def test_security_headers(dojo: Harness) -> None:
    answer = dojo.client().get("/sockets/")
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    "target",
    ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", ""],
)
def test_login_never_redirects_off_site(dojo: Harness, target: str) -> None:
    dojo.account("alice", password="correct horse battery")
    client = dojo.client()
    answer = dojo.login(client, "alice", "correct horse battery", next=target)
    assert answer.headers["location"] == "/sockets/"


def test_passwords_are_stored_as_argon2id(dojo: Harness, store: Store) -> None:
    dojo.register(dojo.client(), "alice")
    with store.session() as session:
        stored = accounts.find(session, "alice")
        assert stored is not None and stored.password_hash is not None
        assert stored.password_hash.startswith("$argon2id$")
        assert "correct horse" not in stored.password_hash


def test_failed_logins_are_recorded(dojo: Harness, store: Store) -> None:
    dojo.login(dojo.client(), "ghost", "some guess!")
    with store.session() as session:
        attempt = session.scalars(select(LoginAttempt)).one()
    assert (attempt.kind, attempt.name_key, attempt.succeeded) == ("login", "ghost", False)
    assert attempt.created_at == dojo.clock.now


def test_old_login_attempts_are_forgotten(dojo: Harness, store: Store) -> None:
    dojo.login(dojo.client(), "ghost", "some guess!")
    dojo.clock.advance(days=1, seconds=1)
    dojo.login(dojo.client(), "ghost", "another guess")
    with store.session() as session:
        kept = session.scalars(select(LoginAttempt.created_at)).all()
    assert kept == [dojo.clock.now]


def test_huge_bodies_are_refused(dojo: Harness) -> None:
    client = dojo.client()
    token = dojo.csrf(client)
    answer = client.post(
        "/login", data={"csrf_token": token, "name": "alice", "password": "x" * 100_000}
    )
    assert answer.status_code == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"a" * 1024

    streamed = client.post(
        "/login",
        content=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert streamed.status_code == 413
