"""An in-process web dojo on a throw-away SQLite database, and a harness to drive it."""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, TypedDict, Unpack

import httpx
import pytest
from starlette.exceptions import StarletteDeprecationWarning

import api_contract
from sockdojo.flags import HmacFlagAuthority
from sockdojo.storage import accounts
from sockdojo.storage.admin import set_launch_date
from sockdojo.storage.database import Store
from sockdojo.storage.models import Account
from sockdojo.storage.solves import record_solve
from sockdojo.web.app import create_app
from sockdojo.web.classroom import ClassLimits
from sockdojo.web.dojo import WebDojo
from sockdojo.web.passwords import fast_passwords

with warnings.catch_warnings():
    # Starlette would rather see httpx2; httpx works the same for these tests.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

PASSWORD = "correct horse battery"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
FLASH = re.compile(r'<p class="flash (ok|error)"[^>]*>([^<]*)</p>')


class Clock:
    """A clock that only moves when a test moves it."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


class AppOptions(TypedDict, total=False):
    """create_app's options a harness passes on."""

    secure_cookies: bool
    class_limits: ClassLimits | None
    public_url: str | None


class Harness:
    def __init__(
        self,
        store: Store,
        authority: HmacFlagAuthority,
        clock: Clock,
        **options: Unpack[AppOptions],
    ) -> None:
        self.store = store
        self.authority = authority
        self.clock = clock
        dojo = WebDojo(store, authority, passwords=fast_passwords(), clock=clock)
        self.app = create_app(dojo, secret_key="k" * 40, **options)
        self.clients: list[TestClient] = []

    def client(self) -> TestClient:
        """A fresh browser: its own cookie jar."""
        client = TestClient(self.app, follow_redirects=False)
        # Every API answer it gets is checked against the OpenAPI document.
        client.event_hooks = {"request": [], "response": [api_contract.check]}
        self.clients.append(client)
        return client

    # Accounts, straight in the store

    def account(
        self, name: str, *, admin: bool = False, hidden: bool = False, password: str | None = None
    ) -> Account:
        hashed = fast_passwords().hash(password) if password else None
        return accounts.create(self.store, name, admin=admin, hidden=hidden, password_hash=hashed)

    def solve(self, account: Account, challenge: str, when: dt.datetime | None = None) -> None:
        with self.store.session() as session:
            record_solve(
                session,
                account_id=account.id,
                module_id="sockets",
                challenge_id=challenge,
                when=when or self.clock.now,
            )

    def launch(self, when: dt.datetime) -> None:
        with self.store.session() as session:
            set_launch_date(session, "sockets", when)

    def flag(self, account: Account, challenge: str) -> str:
        from sockdojo.challenges import registry

        return self.authority.mint(account.id, registry.BY_ID[challenge].number)

    # Through HTTP, as a browser would

    def csrf(self, client: TestClient) -> str:
        token = client.get("/api/v1/me").json()["csrf_token"]
        assert isinstance(token, str)
        return token

    def register(
        self,
        client: TestClient,
        name: str,
        password: str = PASSWORD,
        confirm: str | None = None,
        next: str | None = None,
    ) -> httpx.Response:
        form = {"name": name, "password": password}
        form["confirm"] = password if confirm is None else confirm
        return self._post_form(client, "/register", form, next)

    def login(
        self, client: TestClient, name: str, password: str = PASSWORD, next: str | None = None
    ) -> httpx.Response:
        return self._post_form(client, "/login", {"name": name, "password": password}, next)

    def _post_form(
        self, client: TestClient, path: str, form: dict[str, str], next: str | None
    ) -> httpx.Response:
        data = {"csrf_token": self.csrf(client), **form}
        if next is not None:
            data["next"] = next
        # To mypy, starlette's TestClient subclasses httpx2's Client, which is not installed (it
        # runs on httpx here): its answers are Any, so each one is declared what it is.
        response: httpx.Response = client.post(path, data=data)
        return response

    def signed_in(self, name: str, **kind: bool) -> tuple[TestClient, Account]:
        """A client signed in as a new account `name` (admin=True / hidden=True as asked)."""
        account = self.account(name, password=PASSWORD, **kind)
        client = self.client()
        assert self.login(client, name).status_code == 303
        client.get("/sockets/")  # as a browser would: shows (and so clears) the welcome
        return client, account

    def submit(self, client: TestClient, challenge: str, flag: str) -> httpx.Response:
        response: httpx.Response = client.post(
            f"/sockets/{challenge}/submit", data={"csrf_token": self.csrf(client), "flag": flag}
        )
        return response

    def api_submit(
        self, client: TestClient, flag: str, challenge: str | None = None
    ) -> httpx.Response:
        body = {"flag": flag}
        if challenge is not None:
            body["challenge"] = challenge
        response: httpx.Response = client.post(
            "/api/v1/modules/sockets/submissions",
            json=body,
            headers={"X-CSRF-Token": self.csrf(client)},
        )
        return response

    @staticmethod
    def session_cookie(client: TestClient) -> str | None:
        cookie: str | None = client.cookies.get("sockdojo_session")
        return cookie

    @staticmethod
    def plant_session(client: TestClient, value: str) -> None:
        """Put a session cookie into a browser, as an attacker or a thief would."""
        client.cookies.clear()
        client.cookies.set("sockdojo_session", value, domain="testserver.local", path="/")

    def flashes(self, client: TestClient, path: str = "/sockets/") -> list[tuple[str, str]]:
        return [(kind, text) for kind, text in FLASH.findall(client.get(path).text)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'dojo.db'}")
    yield store
    store.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock(dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC))


@pytest.fixture
def authority() -> HmacFlagAuthority:
    return HmacFlagAuthority(b"web-dojo-test-secret-0123456789")


@pytest.fixture
def dojo(store: Store, authority: HmacFlagAuthority, clock: Clock) -> Iterator[Harness]:
    # Launched well before the clock, so that solves "now" count.
    harness = Harness(store, authority, clock)
    harness.launch(clock.now - dt.timedelta(days=90))
    yield harness
    for client in harness.clients:
        client.close()


class MakeHarness(Protocol):
    def __call__(self, **options: Unpack[AppOptions]) -> Harness: ...


@pytest.fixture
def make_harness(store: Store, authority: HmacFlagAuthority, clock: Clock) -> Iterator[MakeHarness]:
    """Another web dojo on the same database: a second server process, or other options."""
    made: list[Harness] = []

    def make(**options: Unpack[AppOptions]) -> Harness:
        harness = Harness(store, authority, clock, **options)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        for client in harness.clients:
            client.close()
