"""How `sockdojo login` reads the device-token answers: the real server's, in every state, and
answers no class server gives. The whole flow, with a browser, is `test_three_laptops`."""

from __future__ import annotations

from typing import NamedTuple

import click
import httpx
import pytest

from class_mode.harness import ClassHarness
from sockdojo.cli.login import _NoToken, _token_from
from sockdojo.cli.remote import ServerUnreachable

GRANT = "urn:ietf:params:oauth:grant-type:device_code"
URL = "http://testserver"


class Started(NamedTuple):
    device_code: str
    user_code: str


def _start(class_dojo: ClassHarness) -> Started:
    answer = class_dojo.client().post("/api/v1/device/code", data={"client_host": "ada-laptop"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return Started(str(body["device_code"]), str(body["user_code"]))


def _poll(class_dojo: ClassHarness, started: Started) -> str | _NoToken:
    answer = class_dojo.client().post(
        "/api/v1/device/token", data={"grant_type": GRANT, "device_code": started.device_code}
    )
    return _token_from(URL, answer)


def _decide(class_dojo: ClassHarness, started: Started, decision: str) -> None:
    browser, _ = class_dojo.signed_in("ada")
    done = browser.post(
        "/device",
        data={
            "csrf_token": class_dojo.csrf(browser),
            "user_code": started.user_code,
            "decision": decision,
        },
    )
    assert done.status_code == 200, done.text


def test_pending_slow_down_token_then_spent(class_dojo: ClassHarness) -> None:
    started = _start(class_dojo)
    assert _poll(class_dojo, started) is _NoToken.PENDING
    assert _poll(class_dojo, started) is _NoToken.SLOW_DOWN  # polled again at once
    _decide(class_dojo, started, "approve")
    token = _poll(class_dojo, started)
    assert isinstance(token, str) and token.startswith("sdj_")
    me = class_dojo.client().get("/api/v1/tokens/current", headers=class_dojo.bearer(token))
    assert me.json()["account"]["name"] == "ada"
    # Used once: the code gives nothing more, and the loop stops (invalid_grant).
    assert _poll(class_dojo, started) is _NoToken.SPENT


def test_denied_ends_the_login_and_expired_is_spent(class_dojo: ClassHarness) -> None:
    denied = _start(class_dojo)
    _decide(class_dojo, denied, "deny")
    with pytest.raises(click.ClickException, match=r"^The login was denied in the browser\.$"):
        _poll(class_dojo, denied)
    late = _start(class_dojo)
    class_dojo.clock.advance(minutes=10, seconds=1)
    assert _poll(class_dojo, late) is _NoToken.SPENT  # expired_token


def test_answers_the_flow_does_not_know_say_what_came(class_dojo: ClassHarness) -> None:
    client = class_dojo.client()
    unsupported = client.post("/api/v1/device/token", data={"grant_type": "password"})
    with pytest.raises(ServerUnreachable, match=r"HTTP 400 \(unsupported_grant_type\)"):
        _token_from(URL, unsupported)
    missing = client.post("/api/v1/device/nothing-here", data={})
    with pytest.raises(ServerUnreachable, match=r"HTTP 404 \(Not Found\)"):
        _token_from(URL, missing)
    # A proxy's page in front of a server that is down: no JSON at all.
    proxy = httpx.Response(502, text="<html><h1>502 Bad Gateway</h1></html>")
    with pytest.raises(ServerUnreachable, match=r"HTTP 502 \(no reason given\)"):
        _token_from(URL, proxy)
    # JSON that is not an object, even with a 200, is an unknown answer, not a crash.
    bodies: tuple[object, ...] = ([], "sdj_token", None)
    for body in bodies:
        with pytest.raises(ServerUnreachable, match=r"HTTP 200 \(no reason given\)"):
            _token_from(URL, httpx.Response(200, json=body))
