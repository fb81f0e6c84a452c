"""API tokens and the device login, through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from class_mode.harness import ClassHarness
from sockdojo.storage.models import ApiToken

GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def test_token_is_shown_once_stored_hashed_and_opens_the_api(class_dojo: ClassHarness) -> None:
    browser, account = class_dojo.signed_in("ada")
    token = class_dojo.token(browser, "laptop")
    assert token.startswith("sdj_") and len(token) >= 4 + 43  # 256 bits of base64
    # Shown once: the account page afterwards lists it by name, never the token itself.
    page = browser.get("/account").text
    assert "laptop" in page and token not in page
    with class_dojo.store.session() as session:
        stored = session.scalars(select(ApiToken)).one()
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert stored.account_id == account.id
        assert (stored.expires_at - stored.created_at).days == 90
    cli = class_dojo.client()
    answer = cli.get("/api/v1/tokens/current", headers=class_dojo.bearer(token))
    assert answer.status_code == 200
    assert answer.json()["account"]["name"] == "ada"


def test_bearer_needs_no_csrf_and_never_falls_back_to_the_cookie(class_dojo: ClassHarness) -> None:
    browser, account = class_dojo.signed_in("ada")
    token = class_dojo.token(browser)
    flag = class_dojo.flag(account, "client")
    cli = class_dojo.client()
    sent = cli.post(
        "/api/v1/modules/sockets/submissions",
        json={"flag": flag},
        headers=class_dojo.bearer(token),
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["verdict"] == "solved"
    # The signed-in browser sending a dead token is refused, not served as its cookie's account.
    dead = browser.get("/api/v1/tokens/current", headers=class_dojo.bearer("sdj_made-up"))
    assert dead.status_code == 401
    assert browser.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401
    # And the browser session alone cannot mint (minting is the CLI's).
    assert browser.post("/api/v1/modules/sockets/challenges/client/flag").status_code == 401


def test_a_token_never_opens_admin_pages(class_dojo: ClassHarness) -> None:
    admin_browser, _ = class_dojo.signed_in("teacher", admin=True)
    assert admin_browser.get("/admin").status_code == 200
    token = class_dojo.token(admin_browser)
    cli = class_dojo.client()
    assert cli.get("/admin", headers=class_dojo.bearer(token)).status_code == 403
    assert cli.get("/admin/solves.csv", headers=class_dojo.bearer(token)).status_code == 403


def test_revoked_and_expired_tokens_are_refused(class_dojo: ClassHarness) -> None:
    browser, _ = class_dojo.signed_in("ada")
    short = class_dojo.token(browser, "short", days="1")
    revoked = class_dojo.token(browser, "revoked")
    cli = class_dojo.client()
    with class_dojo.store.session() as session:
        ids = {t.name: t.id for t in session.scalars(select(ApiToken))}
    answer = browser.post(
        f"/account/tokens/{ids['revoked']}/revoke", data={"csrf_token": class_dojo.csrf(browser)}
    )
    assert answer.status_code == 303
    refused = cli.get("/api/v1/tokens/current", headers=class_dojo.bearer(revoked))
    assert refused.status_code == 401
    assert "log in again" in refused.json()["error"]
    assert cli.get("/api/v1/tokens/current", headers=class_dojo.bearer(short)).status_code == 200
    class_dojo.clock.advance(days=1, seconds=1)
    assert cli.get("/api/v1/tokens/current", headers=class_dojo.bearer(short)).status_code == 401


def test_another_learner_cannot_revoke_my_token_but_an_admin_can(
    class_dojo: ClassHarness,
) -> None:
    ada, _ = class_dojo.signed_in("ada")
    bob, _ = class_dojo.signed_in("bob")
    teacher, _ = class_dojo.signed_in("teacher", admin=True)
    token = class_dojo.token(ada)
    with class_dojo.store.session() as session:
        token_id = session.scalars(select(ApiToken.id)).one()
    bob.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": class_dojo.csrf(bob)})
    cli = class_dojo.client()
    assert cli.get("/api/v1/tokens/current", headers=class_dojo.bearer(token)).status_code == 200
    assert "ada" in teacher.get("/account").text  # the admin's list of every token
    teacher.post(
        f"/account/tokens/{token_id}/revoke", data={"csrf_token": class_dojo.csrf(teacher)}
    )
    assert cli.get("/api/v1/tokens/current", headers=class_dojo.bearer(token)).status_code == 401


def _start(class_dojo: ClassHarness) -> dict[str, object]:
    cli = class_dojo.client()
    answer = cli.post(
        "/api/v1/device/code", data={"client_host": "ada-laptop", "client_platform": "Darwin"}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert isinstance(body, dict)
    return body


def _poll(class_dojo: ClassHarness, device_code: object) -> tuple[int, dict[str, object]]:
    answer = class_dojo.client().post(
        "/api/v1/device/token", data={"grant_type": GRANT, "device_code": device_code}
    )
    return answer.status_code, answer.json()


def test_device_flow_approved_gives_one_token_once(class_dojo: ClassHarness) -> None:
    started = _start(class_dojo)
    assert started["expires_in"] == 600
    assert started["interval"] == 5
    user_code = started["user_code"]
    assert isinstance(user_code, str) and len(user_code) == 9 and user_code[4] == "-"
    assert started["verification_uri"] == "http://testserver/device"
    assert started["verification_uri_complete"] == f"http://testserver/device?user_code={user_code}"
    assert _poll(class_dojo, started["device_code"]) == (400, _error("authorization_pending"))
    # Polled again at once: slow down.
    assert _poll(class_dojo, started["device_code"])[1]["error"] == "slow_down"
    browser, _ = class_dojo.signed_in("ada")
    # Typed in lower case without the dash, as a learner might.
    page = browser.get(f"/device?user_code={user_code.replace('-', '').lower()}")
    assert "ada-laptop" in page.text and "Darwin" in page.text
    done = browser.post(
        "/device",
        data={
            "csrf_token": class_dojo.csrf(browser),
            "user_code": user_code,
            "decision": "approve",
        },
    )
    assert "Approved" in done.text
    status, granted = _poll(class_dojo, started["device_code"])
    assert status == 200 and granted["token_type"] == "Bearer"
    token = granted["access_token"]
    assert isinstance(token, str)
    me = class_dojo.client().get("/api/v1/tokens/current", headers=class_dojo.bearer(token))
    assert me.json()["account"]["name"] == "ada"
    # Single use: the same device code gives nothing more.
    assert _poll(class_dojo, started["device_code"])[1]["error"] == "invalid_grant"


def _error(code: str) -> dict[str, object]:
    from sockdojo.storage.device_codes import Poll
    from sockdojo.web.class_api import POLL_DESCRIPTIONS

    return {"error": code, "error_description": POLL_DESCRIPTIONS[Poll(code)]}


def test_device_code_denied_and_expired(class_dojo: ClassHarness) -> None:
    denied = _start(class_dojo)
    browser, _ = class_dojo.signed_in("ada")
    browser.post(
        "/device",
        data={
            "csrf_token": class_dojo.csrf(browser),
            "user_code": denied["user_code"],
            "decision": "deny",
        },
    )
    assert _poll(class_dojo, denied["device_code"])[1]["error"] == "access_denied"
    late = _start(class_dojo)
    class_dojo.clock.advance(minutes=10, seconds=1)
    assert _poll(class_dojo, late["device_code"])[1]["error"] == "expired_token"
    page = browser.get(f"/device?user_code={late['user_code']}")
    assert "expired" in page.text
    refused = browser.post(
        "/device",
        data={
            "csrf_token": class_dojo.csrf(browser),
            "user_code": late["user_code"],
            "decision": "approve",
        },
    )
    assert refused.status_code == 400


def test_device_page_asks_to_log_in_first(class_dojo: ClassHarness) -> None:
    page = class_dojo.client().get("/device?user_code=BCDF-GHJK")
    assert page.status_code == 200
    assert "/login?next=/device%3Fuser_code%3DBCDF-GHJK" in page.text


def test_a_token_named_with_html_is_shown_as_text_in_both_tables(class_dojo: ClassHarness) -> None:
    # A token's name is the learner's own text, drawn in the account page's table and in the
    # admin's table of every account's tokens: both must show it, never run it.
    hostile = '<img src=x onerror="alert(1)">'
    browser, _ = class_dojo.signed_in("ada")
    class_dojo.token(browser, hostile)
    admin, _ = class_dojo.signed_in("teacher", admin=True)
    escaped = "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;"
    for viewer in (browser, admin):
        page = viewer.get("/account").text
        assert "<img" not in page
        assert escaped in page
    assert "Every account's tokens" in admin.get("/account").text
