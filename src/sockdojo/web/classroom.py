"""Class mode on the server: API tokens, device logins, flags minted for CLI runs, run reports.

Like `WebDojo`, every method is synchronous and opens its own database session; the handlers
call them in a worker thread.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from sockdojo.challenges import registry
from sockdojo.errors import SockdojoError
from sockdojo.rate_limits import retry_after
from sockdojo.storage import device_codes, runs, tokens
from sockdojo.storage.tokens import TokenInfo
from sockdojo.web.dojo import FormError, RateLimited, Viewer, WebDojo

RUNS_KEPT_SETTING = "SOCKDOJO_RUNS_KEPT_DAYS"


class BadSetting(SockdojoError):
    """A setting of the environment that cannot be used: exit 2, like a usage error."""

    exit_code = 2


def runs_kept_from_environment() -> dt.timedelta:
    """How long run reports are kept: SOCKDOJO_RUNS_KEPT_DAYS, else 180 days."""
    raw = os.environ.get(RUNS_KEPT_SETTING, "").strip()
    if not raw:
        return dt.timedelta(days=180)
    if not raw.isdigit() or not 1 <= int(raw) <= 36600:
        raise BadSetting(f"{RUNS_KEPT_SETTING} must be a number of days (1 or more), not {raw!r}.")
    return dt.timedelta(days=int(raw))


@dataclass(frozen=True)
class ClassLimits:
    # A script must not farm flags: a run needs one, a learner rarely does 30 runs a minute.
    mints: int = 30
    mint_period: dt.timedelta = dt.timedelta(minutes=1)
    runs: int = 60
    run_period: dt.timedelta = dt.timedelta(minutes=1)
    # How long run reports are kept (the instructor view looks back 7 days, the matrix further).
    runs_kept: dt.timedelta = field(default_factory=runs_kept_from_environment)
    token_lifetime: dt.timedelta = tokens.DEFAULT_LIFETIME
    longest_token_lifetime: dt.timedelta = dt.timedelta(days=366)
    # Device codes a client address may ask for within the code lifetime (a class behind one
    # NAT logs in at once: generous).
    device_codes: int = 200
    last_runs_shown: int = 10


@dataclass
class Classroom:
    dojo: WebDojo
    limits: ClassLimits = field(default_factory=ClassLimits)

    def now(self) -> dt.datetime:
        return self.dojo.now()

    # Tokens

    def token_viewer(self, token: str) -> Viewer | None:
        now = self.now()
        store = self.dojo.store
        with store.outside_transaction() as db:
            found = tokens.holder(db, token, now)
        if found is None:
            return None
        if found.last_used_at is None or found.last_used_at < now - tokens.LAST_USED_RESOLUTION:
            with store.session() as session:
                tokens.touch(session, found.token_id, now)
        return Viewer(
            found.account_id, found.name, found.is_admin, found.is_hidden, token_id=found.token_id
        )

    def create_token(self, viewer: Viewer, name: str, days: int | None = None) -> str:
        lifetime = dt.timedelta(days=days) if days else self.limits.token_lifetime
        if not dt.timedelta(days=1) <= lifetime <= self.limits.longest_token_lifetime:
            longest = self.limits.longest_token_lifetime.days
            raise FormError(f"A token lives from 1 to {longest} days.")
        with self.dojo.store.session() as session:
            token, _ = tokens.create(session, viewer.id, name, self.now(), lifetime)
        return token

    def tokens_of(self, viewer: Viewer) -> list[TokenInfo]:
        with self.dojo.store.session() as session:
            return tokens.listed(session, viewer.id)

    def every_token(self) -> list[TokenInfo]:
        with self.dojo.store.session() as session:
            return tokens.listed(session)

    def revoke_token(self, viewer: Viewer, token_id: int) -> None:
        """The owner revokes their own tokens; an admin (signed in, not by token) any token."""
        anyone = viewer.is_admin and viewer.token_id is None
        with self.dojo.store.session() as session:
            if not tokens.revoke(session, token_id, self.now(), None if anyone else viewer.id):
                raise FormError("There is no such live token.")

    # Device authorization

    def start_device(self, host: str, platform: str, client: str) -> tuple[str, str]:
        now = self.now()
        with self.dojo.store.session() as session:
            recent = device_codes.started_since(session, client, now - device_codes.LIFETIME)
            if recent >= self.limits.device_codes:
                raise RateLimited(
                    int(device_codes.LIFETIME.total_seconds()),
                    "Too many logins from your address: try again in a few minutes.",
                )
            return device_codes.start(
                session,
                client_host=host or "unknown",
                client_platform=platform or "unknown",
                client_address=client,
                now=now,
            )

    def pending_device(self, user_code: str) -> device_codes.PendingDevice | None:
        with self.dojo.store.session() as session:
            return device_codes.pending(session, user_code, self.now())

    def decide_device(self, viewer: Viewer, user_code: str, approve: bool) -> None:
        with self.dojo.store.session() as session:
            if not device_codes.decide(session, user_code, viewer.id, approve, self.now()):
                raise FormError(
                    "That code is unknown, already used or expired (codes last "
                    f"{device_codes.LIFETIME_WORDS}): "
                    "run sockdojo login again for a new one."
                )

    def poll_device(self, device_code: str) -> device_codes.PollResult:
        with self.dojo.store.session() as session:
            return device_codes.poll(session, device_code, self.now(), self.limits.token_lifetime)

    # Flags and runs

    def mint(self, viewer: Viewer, challenge: registry.Challenge, run_key: str | None) -> str:
        """The flag of `challenge` for the viewer's own account, within the minting limit.

        The count and the record are one transaction under the account's row lock
        (PostgreSQL) or the store's write lock (SQLite), so a burst cannot slip past the limit.
        """
        now = self.now()
        store = self.dojo.store
        since = now - self.limits.mint_period
        wait: int | None = None

        def count_and_record(db: Connection) -> None:
            nonlocal wait
            earlier = runs.mints_since(db, viewer.id, since)
            wait = retry_after(earlier, self.limits.mints, self.limits.mint_period, now)
            if not wait:
                mint = runs.Mint(viewer.id, viewer.token_id, challenge.id, run_key, now)
                runs.record_mint(db, mint)

        if store.engine.dialect.name == "postgresql":
            with store.engine.begin() as db:
                runs.lock_account(db, viewer.id)
                count_and_record(db)
        else:
            with store.write_lock(), store.engine.begin() as db:
                count_and_record(db)
        if wait:
            raise RateLimited(
                wait,
                f"That is {self.limits.mints} flags within a minute: wait {wait} seconds "
                "before the next run.",
            )
        return self.dojo.authority.mint(viewer.id, challenge.number)

    def record_run(self, viewer: Viewer, run: runs.Report) -> None:
        now = self.now()
        with self.dojo.store.session() as session:
            recent = runs.runs_since(session, viewer.id, now - self.limits.run_period)
            if recent >= self.limits.runs:
                raise RateLimited(
                    int(self.limits.run_period.total_seconds()), "Too many run reports."
                )
            runs.record_run(
                session,
                runs.Run(**vars(run), account_id=viewer.id, created_at=now),
                self.limits.runs_kept,
            )

    def last_runs(self, account_id: int) -> list[runs.Run]:
        with self.dojo.store.session() as session:
            return runs.last_runs(session, account_id, self.limits.last_runs_shown)
