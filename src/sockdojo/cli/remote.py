"""The CLI's side of class mode: talking to the class server over its JSON API.

A logged-in CLI never holds the class secret: `RemoteFlagAuthority.mint` asks the server for
the flag, which mints it for the token's own account. Nothing here imports SQLAlchemy or the
web stack: a logged-in `sockdojo` starts as fast as the HTTP client allows.
"""

from __future__ import annotations

import contextlib
import platform
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from sockdojo import __version__
from sockdojo.challenges import registry
from sockdojo.cli.credentials import Login
from sockdojo.errors import SockdojoError
from sockdojo.flags.authority import DEFAULT_PREFIX, FlagAuthority
from sockdojo.net.protocol import prefix_of
from sockdojo.verdict import Verdict

if TYPE_CHECKING:
    import datetime as dt

    # msgspec and the shapes are imported by the requests that use them: `whoami`, `list`
    # and `logout` do without (see the README's performance notes).
    from sockdojo import api_shapes as shapes

TIMEOUT = 10.0
# A run report must never hold a run up: it gets this long, then is dropped.
REPORT_TIMEOUT = 2.0
PREFIX = "/api/v1"
MODULE = registry.MODULE_ID
KNOWN_VERDICTS = frozenset(verdict.value for verdict in Verdict)


class ServerUnreachable(SockdojoError):
    """The class server did not answer (or answered nonsense). Exit 1: run again later."""

    exit_code = 1


class LoginRefused(SockdojoError):
    """The class server refused the token: revoked, expired or made up. Exit 2: log in again."""

    exit_code = 2


def client_host() -> str:
    return socket.gethostname()[:64] or "unknown"


def client_platform() -> str:
    return f"{platform.system()} {platform.release()}".strip()[:64] or "unknown"


def why(error: httpx.HTTPError) -> str:
    """The reason a request failed, in a few words a learner can act on."""
    if isinstance(error, httpx.ConnectTimeout):
        return "the connection timed out"
    if isinstance(error, httpx.ConnectError):
        return "it refused the connection or its address is unknown"
    if isinstance(error, httpx.TimeoutException):
        return f"it did not answer within {TIMEOUT:g} seconds"
    return str(error) or type(error).__name__


@dataclass(frozen=True)
class RemoteOutcome:
    """A submission's outcome as the server told it (the same fields as `SubmitOutcome`)."""

    verdict: Verdict
    challenge_id: str | None
    message: str

    @property
    def correct(self) -> bool:
        return self.verdict.correct

    @classmethod
    def of(cls, judged: shapes.Judged) -> RemoteOutcome:
        return cls(judged.verdict, judged.challenge, judged.message)


@dataclass(frozen=True)
class RemoteAccount:
    """Stands in for the local account: the server knows who the token is, the CLI need not.
    `id` is never sent; a minted flag is always for the token's own account."""

    id: int
    name: str


@dataclass
class ClassServer:
    login: Login
    _client: httpx.Client | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return self.login.server

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                base_url=self.login.server,
                headers={
                    "Authorization": f"Bearer {self.login.token}",
                    "User-Agent": f"sockdojo/{__version__}",
                },
                timeout=TIMEOUT,
            )
        return self._client

    def request(
        self, method: str, path: str, *, json: Any = None, params: dict[str, str] | None = None
    ) -> httpx.Response:
        try:
            response = self._http().request(method, PREFIX + path, json=json, params=params)
        except httpx.HTTPError as error:
            raise ServerUnreachable(
                f"The class server {self.url} could not be reached: {why(error)}. "
                "Check the address and your network, or run again when it is back."
            ) from None
        if response.status_code == 401:
            raise LoginRefused(
                f"The class server {self.url} refused your login (the token was revoked, has "
                f"expired or is not one of its own): log in again with `sockdojo login "
                f"{self.url}`."
            )
        if response.status_code >= 500:
            raise ServerUnreachable(
                f"The class server {self.url} has a problem right now (HTTP "
                f"{response.status_code}): run again in a moment."
            )
        return response

    def get_json(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        return _object(self.request("GET", path, params=params), self.url)

    def whoami(self) -> str:
        account = self.get_json("/tokens/current").get("account")
        name = account.get("name") if isinstance(account, dict) else None
        if not isinstance(name, str):
            raise ServerUnreachable(f"The class server {self.url} answered without an account.")
        return name

    def solved(self) -> dict[str, dt.datetime]:
        import datetime as dt

        found = self.get_json(f"/modules/{MODULE}/challenges").get("challenges", [])
        return {
            item["id"]: dt.datetime.fromisoformat(item["solved_at"])
            for item in found
            if isinstance(item, dict) and item.get("solved_at")
        }

    def submit(self, flag: str) -> RemoteOutcome:
        response = self.request("POST", f"/modules/{MODULE}/submissions", json={"flag": flag})
        body = _object(response, self.url)
        if response.status_code == 429:
            return RemoteOutcome(Verdict.RATE_LIMITED, None, str(body.get("error", "Slow down.")))
        if response.status_code != 200:
            raise ServerUnreachable(
                f"The class server {self.url} refused the flag: {body.get('error', response)}"
            )
        import msgspec

        from sockdojo import api_shapes as shapes

        try:
            return RemoteOutcome.of(msgspec.convert(body, shapes.Judged))
        except msgspec.ValidationError as wrong:
            if "verdict" in body and str(body["verdict"]) not in KNOWN_VERDICTS:
                raise ServerUnreachable(
                    f"The class server {self.url} answered a verdict this sockdojo does not "
                    f"know ({body['verdict']!r}): update it with pip install -U sockdojo"
                ) from None
            raise ServerUnreachable(
                f"The class server {self.url} answered a submission's outcome this sockdojo "
                f"cannot read ({wrong}): update it with pip install -U sockdojo"
            ) from None

    def scoreboard(self, days: int) -> shapes.Scoreboard:
        import msgspec

        from sockdojo import api_shapes as shapes

        body = self.get_json(f"/modules/{MODULE}/scoreboard", {"days": str(days)})
        try:
            return msgspec.convert(body, shapes.Scoreboard)
        except msgspec.ValidationError as wrong:
            raise ServerUnreachable(
                f"The class server {self.url} answered a scoreboard this sockdojo cannot read "
                f"({wrong}): update it with pip install -U sockdojo"
            ) from None

    def mint(self, challenge_id: str, run_key: str) -> str:
        response = self.request(
            "POST", f"/modules/{MODULE}/challenges/{challenge_id}/flag", json={"run": run_key}
        )
        body = _object(response, self.url)
        if response.status_code == 429:
            raise ServerUnreachable(
                f"The class server {self.url} gives out at most a few flags a minute: "
                f"{body.get('error', 'wait a minute')}"
            )
        flag = body.get("flag")
        if response.status_code != 200 or not isinstance(flag, str):
            raise ServerUnreachable(
                f"The class server {self.url} did not give a flag: {body.get('error', response)}"
            )
        return flag

    def revoke(self) -> None:
        self.request("DELETE", "/tokens/current")

    def report(self, report: shapes.RunReport) -> None:
        """Send a run report; any failure is dropped (the run matters, not its report)."""
        import msgspec

        with contextlib.suppress(httpx.HTTPError):
            self._http().post(
                PREFIX + "/runs", json=msgspec.to_builtins(report), timeout=REPORT_TIMEOUT
            )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def _object(response: httpx.Response, url: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise not_a_class_server(url, response)
    return body


def not_a_class_server(url: str, response: httpx.Response) -> ServerUnreachable:
    """The error for an answer no sockdojo class server gives: most likely the wrong address."""
    return ServerUnreachable(
        f"{url} answered, but not as a sockdojo class server would (HTTP "
        f"{response.status_code}): check the address."
    )


class RemoteFlagAuthority:
    """The `FlagAuthority` seam's remote side: `mint` asks the class server, at the moment the
    flag is due. The challenge code sees only `mint` (and `prefix`)."""

    def __init__(self, server: ClassServer, run_key: str) -> None:
        self.server = server
        self.run_key = run_key
        self.prefix = DEFAULT_PREFIX

    def mint(self, account_id: int, challenge_number: int) -> str:
        """The flag, asked for when the learner's program has earned it."""
        try:
            return self.fetch(challenge_number)
        except ServerUnreachable as error:
            raise ServerUnreachable(
                "Your program did the right thing, but its flag comes from the class server, "
                f"and {_lower_first(error.message)} Run the challenge again when the server "
                "is back: the flag is minted afresh."
            ) from None

    def fetch(self, challenge_number: int) -> str:
        flag = self.server.mint(registry.BY_NUMBER[challenge_number].id, self.run_key)
        self.prefix = prefix_of(flag) or self.prefix
        return flag


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


@dataclass
class RemoteDojo:
    """What `sockdojo run` needs of a dojo (its authority, account and flag line), served by
    the class server."""

    server: ClassServer
    run_key: str = field(default_factory=lambda: uuid.uuid4().hex)
    account: RemoteAccount = field(default_factory=lambda: RemoteAccount(0, "you"))

    def __post_init__(self) -> None:
        # Typed as the interface: mypy holds the remote side to what the challenges call.
        self.authority: FlagAuthority = RemoteFlagAuthority(self.server, self.run_key)


class RunReporter:
    """Collects what a run showed, and sends it to the class server when the run ends, from a
    background thread: the run's output and exit are never held up for longer than
    REPORT_TIMEOUT (and not at all when the server answers at once)."""

    def __init__(self, server: ClassServer, challenge_id: str, run_key: str) -> None:
        self.server = server
        self.challenge_id = challenge_id
        self.run_key = run_key
        self.started = time.monotonic()
        self.diagnoses: list[str] = []
        self.passed: bool | None = None
        self._thread: threading.Thread | None = None

    def finish(self, exit_code: int) -> None:
        from sockdojo import api_shapes as shapes

        report = shapes.RunReport(
            challenge=self.challenge_id,
            passed=self.passed if self.passed is not None else exit_code == 0,
            duration_ms=int((time.monotonic() - self.started) * 1000),
            # msgspec checks a shape's limits when it decodes, not when it builds: cut here.
            diagnoses=self.diagnoses[: shapes.DIAGNOSES_LIMIT],
            version=__version__,
            platform=client_platform(),
            run=self.run_key,
        )
        self._thread = threading.Thread(target=self.server.report, args=(report,), daemon=True)
        self._thread.start()

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join(REPORT_TIMEOUT + 0.5)
