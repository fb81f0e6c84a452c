"""What the web dojo does, apart from HTTP: the pages and the API are thin layers over this.

Every method is synchronous and opens its own database session; the HTTP handlers call them in
a worker thread so that a slow database (or a CLI holding the SQLite write lock) never blocks
the event loop.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NoReturn

from sockdojo import api_shapes as shapes
from sockdojo.challenges import registry
from sockdojo.config import valid_account_name
from sockdojo.flags import HmacFlagAuthority
from sockdojo.scoreboard.counting import ranked, window_start
from sockdojo.scoreboard.live import LiveScoreboard
from sockdojo.scoreboard.model import (
    DEFAULT_LIMIT,
    WINDOWS,
    Badge,
    Board,
    BoardQuestion,
    ScoreboardSource,
)
from sockdojo.storage import accounts, admin, badges, web_auth
from sockdojo.storage.database import Store
from sockdojo.storage.models import Account, utcnow
from sockdojo.storage.solves import recent_submissions, solved_challenges
from sockdojo.submissions import SubmitOutcome, WrongFlagLimit, submit_flag
from sockdojo.web.chart import Cell, LineChart, activity_grid, solves_over_time
from sockdojo.web.passwords import Passwords, PasswordsBusy, password_problem

MODULE_ID = registry.MODULE_ID
CHART_HACKERS = 5
BUSY_RETRY_SECONDS = 2


@dataclass(frozen=True)
class WebLimits:
    """How much of each thing an account or a client may do, and over which period.

    Failed logins are counted per (name, client address) and per client address alone, so a
    guesser can neither hammer one account nor spray many; registrations per client address.
    """

    wrong_flags: WrongFlagLimit = field(default_factory=WrongFlagLimit)
    login_failures_per_name: int = 5
    login_failures_per_client: int = 30
    login_period: dt.timedelta = dt.timedelta(minutes=5)
    registrations_per_client: int = 10
    registration_period: dt.timedelta = dt.timedelta(hours=1)
    session_lifetime: dt.timedelta = dt.timedelta(days=14)
    # Login and registration attempts are kept this long (at least as long as the limits look).
    attempts_kept: dt.timedelta = dt.timedelta(days=1)


@dataclass(frozen=True)
class Viewer:
    id: int
    name: str
    is_admin: bool
    is_hidden: bool
    # Set when the request signed in with an API token (never for a browser session): such a
    # viewer is never an admin for admin pages and admin API.
    token_id: int | None = None

    @classmethod
    def of(cls, account: Account) -> Viewer:
        return cls(account.id, account.name, account.is_admin, account.is_hidden)

    def account_shape(self) -> shapes.Account:
        """Who this is, as the API says it (`/me`, the token in use)."""
        return shapes.Account(name=self.name, admin=self.is_admin, hidden=self.is_hidden)


class FormError(Exception):
    """Input a person can fix; the message says how."""


class RateLimited(Exception):
    def __init__(self, retry_after: int, message: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.message = message


@dataclass(frozen=True)
class ChallengeState:
    challenge: registry.Challenge
    solved_at: dt.datetime | None
    solves: int

    @property
    def solved(self) -> bool:
        return self.solved_at is not None


@dataclass(frozen=True)
class ModulePage:
    challenges: tuple[ChallengeState, ...]
    days: int
    board: Board
    launched_at: dt.datetime
    chart: LineChart | None
    chart_start: dt.datetime
    viewer_ranked: bool


@dataclass(frozen=True)
class HackerPage:
    name: str
    is_admin: bool
    is_hidden: bool
    joined_at: dt.datetime
    badges: tuple[Badge, ...]
    solves: tuple[tuple[registry.Challenge, dt.datetime], ...]
    standings: tuple[shapes.Standing, ...]  # the API's shape: the page shows the same three
    activity: tuple[Cell, ...]
    activity_size: tuple[int, int]
    attempts: tuple[tuple[dt.datetime, str | None, str], ...] = field(default=())


@dataclass(frozen=True)
class AccountSummary:
    id: int
    name: str
    is_admin: bool
    is_hidden: bool
    has_password: bool
    created_at: dt.datetime
    solves: int


@dataclass(frozen=True)
class GrantedBadge:
    id: int
    hacker: str
    emoji: str
    title: str
    created_at: dt.datetime


@dataclass(frozen=True)
class AdminPage:
    accounts: tuple[AccountSummary, ...]
    badges: tuple[GrantedBadge, ...]
    launched_at: dt.datetime


class WebDojo:
    def __init__(
        self,
        store: Store,
        authority: HmacFlagAuthority,
        *,
        passwords: Passwords | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        scoreboard: ScoreboardSource | None = None,
        limits: WebLimits | None = None,
    ) -> None:
        self.store = store
        self.authority = authority
        self.passwords = passwords or Passwords()
        self.clock = clock
        # The live scoreboard (one per process, caught up with the database per request);
        # SqlScoreboard gives the same boards, a GROUP BY over every solve each time.
        self.scoreboard = scoreboard or LiveScoreboard(store)
        self.limits = limits or WebLimits()

    def now(self) -> dt.datetime:
        return self.clock()

    # Accounts and sessions

    def viewer(self, token: str) -> Viewer | None:
        with self.store.outside_transaction() as db:
            found = web_auth.signed_in_account(db, token, self.now(), self.limits.session_lifetime)
        if found is None:
            return None
        return Viewer(found.account_id, found.name, found.is_admin, found.is_hidden)

    def _start_session(self, account_id: int) -> str:
        now = self.now()
        with self.store.session() as session:
            web_auth.close_expired(session, now, self.limits.session_lifetime)
            return web_auth.open_session(session, account_id, now)

    def register(self, name: str, password: str, confirm: str, client: str) -> tuple[Viewer, str]:
        """Create an account and sign it in; returns it and its session token."""
        now = self.now()
        attempt = self._reserve("register", name, client, now)
        problem = accounts.new_name_problem(name)
        if problem is None and password != confirm:
            problem = "The two passwords differ: type the same password twice."
        elif problem is None:
            problem = password_problem(password)
        account = None
        if problem is None:
            try:
                password_hash = self.passwords.hash(password)
            except PasswordsBusy:
                self._busy(attempt)
            try:
                account = accounts.create(self.store, name, password_hash=password_hash)
            except accounts.NameTaken as taken:
                problem = (
                    "That name looks too much like one already taken: choose another one."
                    if taken.lookalike
                    else "That name is taken: choose another one."
                )
        web_auth.settle_attempt(self.store, attempt, succeeded=account is not None)
        if account is None:
            assert problem is not None
            raise FormError(problem)
        return Viewer.of(account), self._start_session(account.id)

    def login(self, name: str, password: str, client: str) -> tuple[Viewer, str]:
        now = self.now()
        attempt = self._reserve("login", name, client, now)
        with self.store.session() as session:
            account = accounts.find(session, name) if valid_account_name(name) else None
        try:
            ok = self.passwords.verify(account.password_hash if account else None, password)
        except PasswordsBusy:
            self._busy(attempt)
        web_auth.settle_attempt(self.store, attempt, succeeded=ok)
        with self.store.session() as session:
            keep = max(
                self.limits.attempts_kept,
                self.limits.login_period,
                self.limits.registration_period,
            )
            web_auth.forget_attempts(session, now - keep)
        if not ok or account is None:
            raise FormError("Wrong name or password.")
        if account.password_hash and self.passwords.needs_rehash(account.password_hash):
            with contextlib.suppress(PasswordsBusy), self.store.session() as session:
                admin.set_password_hash(session, account.id, self.passwords.hash(password))
        return Viewer.of(account), self._start_session(account.id)

    def _reserve(self, kind: web_auth.AttemptKind, name: str, client: str, now: dt.datetime) -> int:
        """Count this attempt against its limits before the slow password work (atomically,
        across processes): beyond them, RateLimited."""
        limits = self.limits
        if kind == "login":
            rules = [
                web_auth.AttemptRule(
                    limits.login_failures_per_name,
                    limits.login_period,
                    per_name=True,
                    failures_only=True,
                ),
                web_auth.AttemptRule(
                    limits.login_failures_per_client, limits.login_period, failures_only=True
                ),
            ]
            refusal = "Too many failed logins. Wait {wait} seconds before you try again."
        else:
            rules = [
                web_auth.AttemptRule(limits.registrations_per_client, limits.registration_period)
            ]
            refusal = "Too many new accounts from your address: try again in {wait} seconds."
        try:
            return web_auth.reserve_attempt(
                self.store, kind=kind, name=name, client=client, now=now, rules=rules
            )
        except web_auth.TooManyAttempts as refused:
            wait = refused.retry_after
            raise RateLimited(wait, refusal.format(wait=wait)) from None

    def _busy(self, attempt: int) -> NoReturn:
        # Not checked, so not counted: the client may try again in a moment.
        web_auth.cancel_attempt(self.store, attempt)
        raise RateLimited(
            BUSY_RETRY_SECONDS,
            "The dojo is busy checking other passwords: try again in a few seconds.",
        )

    def logout(self, token: str) -> None:
        with self.store.session() as session:
            web_auth.close_session(session, token)

    # Reading

    def challenge_states(self, viewer: Viewer | None) -> tuple[ChallengeState, ...]:
        return self._challenge_states(viewer, self.scoreboard.solve_counts(MODULE_ID, self.now()))

    def _challenge_states(
        self, viewer: Viewer | None, counts: dict[str, int]
    ) -> tuple[ChallengeState, ...]:
        solved = {}
        if viewer is not None:
            # One statement: outside a transaction (no BEGIN and ROLLBACK around it).
            with self.store.outside_transaction() as db:
                solved = solved_challenges(db, viewer.id, MODULE_ID)
        return tuple(
            ChallengeState(challenge, solved.get(challenge.id), counts.get(challenge.id, 0))
            for challenge in registry.CHALLENGES
        )

    def board(self, viewer: Viewer | None, days: int, limit: int = DEFAULT_LIMIT) -> Board:
        return self.scoreboard.board(
            MODULE_ID, days, self.now(), viewer.id if viewer else None, limit
        )

    def module_page(self, viewer: Viewer | None, days: int) -> ModulePage:
        now = self.now()
        asked = BoardQuestion(MODULE_ID, days, now, viewer.id if viewer else None)
        view = self.scoreboard.module_view(asked, chart=CHART_HACKERS)
        board = view.board
        launched_at = view.launched_at
        if launched_at is None:  # no launch date: there is no module
            raise LookupError(f"no module {MODULE_ID!r}")
        top = board.rows[:CHART_HACKERS]
        start = window_start(days, now)
        chart_start = max(start, launched_at) if start is not None else launched_at
        chart_start = min(chart_start, now)
        chart = (
            solves_over_time(
                [(r.hacker, view.chart.get(r.account_id, [])) for r in top], chart_start, now
            )
            if top
            else None
        )
        return ModulePage(
            challenges=self._challenge_states(viewer, view.solve_counts),
            days=days,
            board=board,
            launched_at=launched_at,
            chart=chart,
            chart_start=chart_start,
            viewer_ranked=viewer is not None
            and ranked(hidden=viewer.is_hidden, admin=viewer.is_admin),
        )

    def hacker_page(self, name: str, viewer: Viewer | None) -> HackerPage | None:
        """A hacker's profile; None when there is no such hacker for this viewer to see."""
        now = self.now()
        with self.store.session() as session:
            account = accounts.find(session, name) if valid_account_name(name) else None
            if account is None:
                return None
            is_self = viewer is not None and viewer.id == account.id
            if account.is_hidden and not (is_self or (viewer is not None and viewer.is_admin)):
                return None
            solved = solved_challenges(session, account.id, MODULE_ID)
            attempts = (
                tuple(
                    (attempt.created_at, attempt.challenge_id, attempt.verdict)
                    for attempt in recent_submissions(session, account.id, 10)
                )
                if is_self
                else ()
            )
        on_boards = ranked(hidden=account.is_hidden, admin=account.is_admin)
        view = self.scoreboard.hacker_view(MODULE_ID, account.id, now, WINDOWS if on_boards else ())
        standings = [
            shapes.Standing(
                days=days, rank=mine.rank if mine else None, score=mine.score if mine else 0
            )
            for days, mine in view.rows.items()
        ]
        ordered = tuple(
            (challenge, solved[challenge.id])
            for challenge in sorted(registry.CHALLENGES, key=lambda c: solved.get(c.id, now))
            if challenge.id in solved
        )
        cells, width, height = activity_grid([when.date() for _, when in ordered], now.date())
        return HackerPage(
            name=account.name,
            is_admin=account.is_admin,
            is_hidden=account.is_hidden,
            joined_at=account.created_at,
            badges=view.badges,
            solves=ordered,
            standings=tuple(standings),
            activity=cells,
            activity_size=(width, height),
            attempts=attempts,
        )

    # Submitting

    def submit(
        self, viewer: Viewer, flag: str, challenge_id: str | None, source: str
    ) -> SubmitOutcome:
        """Check and record a flag, unless the account is over its wrong-flag limit.

        The limit is computed from the stored attempts, so it holds across server processes;
        refused attempts are stored too (as "rate_limited") but do not extend the wait.
        """
        outcome = submit_flag(
            self.store,
            self.authority,
            account_id=viewer.id,
            submitted=flag,
            source=source,
            expected_challenge=challenge_id,
            now=self.now(),
            limit=self.limits.wrong_flags,
        )
        if outcome.retry_after is not None:
            raise RateLimited(outcome.retry_after, outcome.message)
        return outcome

    # Administration

    def admin_page(self) -> AdminPage:
        with self.store.session() as session:
            counts = admin.solves_per_account(session, MODULE_ID)
            summaries = tuple(
                AccountSummary(
                    id=account.id,
                    name=account.name,
                    is_admin=account.is_admin,
                    is_hidden=account.is_hidden,
                    has_password=account.password_hash is not None,
                    created_at=account.created_at,
                    solves=counts.get(account.id, 0),
                )
                for account in admin.all_accounts(session)
            )
            granted = tuple(
                GrantedBadge(grant.id, name, grant.emoji, grant.title, grant.created_at)
                for grant, name in badges.granted(session, MODULE_ID)
            )
            launched_at = admin.launch_date(session, MODULE_ID)
        if launched_at is None:
            raise LookupError(f"no module {MODULE_ID!r}")
        return AdminPage(summaries, granted, launched_at)

    def set_hidden(self, account_id: int, hidden: bool) -> str:
        with self.store.session() as session:
            account = admin.set_hidden(session, account_id, hidden)
            if account is None:
                raise FormError("There is no such account.")
            return account.name

    def grant_badge(self, by: Viewer, hacker: str, emoji: str, title: str) -> None:
        with self.store.session() as session:
            account = accounts.find(session, hacker) if valid_account_name(hacker) else None
            if account is None:
                raise FormError("There is no hacker by that name.")
            try:
                badges.grant(
                    session,
                    account_id=account.id,
                    module_id=MODULE_ID,
                    emoji=emoji,
                    title=title,
                    granted_by=by.id,
                )
            except ValueError as error:
                raise FormError(f"{str(error).capitalize()}.") from None

    def revoke_badge(self, badge_id: int) -> None:
        with self.store.session() as session:
            if not badges.revoke(session, badge_id):
                raise FormError("There is no such badge.")

    def set_launch_date(self, when: dt.datetime) -> None:
        with self.store.session() as session:
            admin.set_launch_date(session, MODULE_ID, when)

    def solve_records(self) -> list[admin.SolveRecord]:
        """The module's solves for the CSV export, read in one go (in a database thread)."""
        with self.store.session() as session:
            return list(admin.solve_records(session, MODULE_ID))


CSV_HEADER = [
    "solve_id",
    "hacker",
    "account_id",
    "admin",
    "hidden",
    "module",
    "challenge",
    "solved_at",
]


def solves_csv(records: list[admin.SolveRecord]) -> Iterator[str]:
    """The solves as CSV lines, with a header: pure, so the export streams without the database."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def line(values: list[object]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([csv_safe(value) for value in values])
        return buffer.getvalue()

    yield line(list(CSV_HEADER))
    for record in records:
        yield line(
            [
                record.solve_id,
                record.hacker,
                record.account_id,
                int(record.admin),
                int(record.hidden),
                record.module_id,
                record.challenge_id,
                record.solved_at.isoformat(),
            ]
        )


def csv_safe(value: object) -> object:
    """Keep spreadsheets from running a cell as a formula (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
