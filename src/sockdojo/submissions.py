"""Checking a submitted flag and recording the outcome: one path for the CLI and the web dojo."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sockdojo.challenges import registry
from sockdojo.flags import FlagCheck, FlagProblem, HmacFlagAuthority
from sockdojo.flags.authority import clean_submission
from sockdojo.rate_limits import retry_after
from sockdojo.storage import solves
from sockdojo.storage.database import Store
from sockdojo.storage.models import utcnow
from sockdojo.verdict import WRONG, Verdict

# A submitted flag longer than this cannot be one; the cap bounds the work spent on it.
FLAG_INPUT_LIMIT = 1024

MESSAGES: dict[Verdict, str] = {
    Verdict.SOLVED: "Correct! You solved {title}.",
    Verdict.ALREADY_SOLVED: "Correct, and you had already solved {title}: nothing changes.",
    Verdict.NOT_A_FLAG: (
        "That is not a flag from this dojo. Copy the whole line the challenge printed, "
        "from '{prefix}{{' to '}}'."
    ),
    Verdict.OTHER_DOJO: (
        "That flag was made by another sockdojo, not by this one: each dojo (your own machine, "
        "a class server) signs its flags with a secret of its own. Run the challenge against "
        "the dojo you submit to (the same machine and data directory), then submit the flag "
        "it hands you."
    ),
    Verdict.TRUNCATED: (
        "That flag was cut short. Your program received only part of it: receive more "
        "(a bigger recv size, or keep calling recv until it returns b'') and print all of it."
    ),
    Verdict.NOT_YOURS: (
        "This flag is not yours: it was handed to another account, and flags are personal. If "
        "you ran the challenge yourself, it ran as a different account than the one you submit "
        "as: check --account (or SOCKDOJO_ACCOUNT), then run the challenge again."
    ),
    Verdict.WRONG_CHALLENGE: (
        "This is your flag for {flag_title}, not for {title}. Submit it there instead."
    ),
    Verdict.UNKNOWN_CHALLENGE: (
        "This flag is genuine but its challenge is no longer part of this dojo."
    ),
    Verdict.RATE_LIMITED: (
        "That is {limit} wrong flags within {period}: wait {wait} seconds, then check that "
        "you copy the whole flag your own program printed."
    ),
}


@dataclass(frozen=True)
class WrongFlagLimit:
    """At most `flags` wrong flags per account within `period`; more are refused unchecked."""

    flags: int = 10  # CTFd's default: 10 wrong flags a minute
    period: dt.timedelta = dt.timedelta(minutes=1)

    def describe_period(self) -> str:
        seconds = int(self.period.total_seconds())
        if seconds == 60:
            return "a minute"
        if seconds % 60 == 0:
            return f"{seconds // 60} minutes"
        return f"{seconds} seconds"


@dataclass(frozen=True)
class SubmitOutcome:
    verdict: Verdict
    challenge_id: str | None
    message: str
    retry_after: int | None = None  # seconds, when the verdict is RATE_LIMITED

    @property
    def correct(self) -> bool:
        return self.verdict.correct


def submit_flag(
    store: Store,
    authority: HmacFlagAuthority,
    *,
    account_id: int,
    submitted: str,
    source: str,
    expected_challenge: str | None = None,
    now: dt.datetime | None = None,
    limit: WrongFlagLimit | None = None,
) -> SubmitOutcome:
    """Check a flag and record the attempt (and the solve, when it is a new one) in one commit.

    With a `limit`, an account over it gets "rate_limited": the attempt is recorded, but its
    verdict is neither stored nor told, so a guesser learns nothing. The limit is read and the
    attempt written under the store's write lock, so concurrent submissions of one account
    cannot slip past it together (on SQLite; on PostgreSQL a burst may overshoot by the number
    of requests in flight).

    On PostgreSQL all of it is one statement (`solves.record_submission`): one round trip
    instead of five (figures in the README's performance notes).
    """
    now = now or utcnow()
    expected = registry.get(expected_challenge) if expected_challenge else None
    checked = _check_flag(authority, account_id, submitted[:FLAG_INPUT_LIMIT], expected)
    attempt = _attempt(
        checked, source=source, expected_challenge=expected_challenge, now=now, limit=limit
    )
    verdict, wrong = _record(store, attempt)
    if limit is not None and verdict is Verdict.RATE_LIMITED:
        return _refused(limit, wrong, now)
    return _judged(verdict, checked, expected, authority.prefix)


@dataclass(frozen=True)
class _Checked:
    """A submission as the authority judged it: who sent what, and the challenge it names."""

    account_id: int
    submitted: str  # as submitted, cut to FLAG_INPUT_LIMIT
    check: FlagCheck
    flag_challenge: registry.Challenge | None  # the challenge the flag is for, whoever's it is
    challenge: registry.Challenge | None  # the same, but only when the flag is the submitter's


def _check_flag(
    authority: HmacFlagAuthority,
    account_id: int,
    submitted: str,
    expected: registry.Challenge | None,
) -> _Checked:
    check = authority.check(
        submitted,
        account_id,
        registry.KNOWN_NUMBERS,
        expected.number if expected else None,
    )
    flag_challenge = (
        registry.BY_NUMBER.get(check.challenge_number) if check.challenge_number else None
    )
    # Never reveal the owner of somebody else's flag, nor record which challenge it was for.
    own = check.problem is not FlagProblem.NOT_YOURS
    return _Checked(account_id, submitted, check, flag_challenge, flag_challenge if own else None)


def _attempt(
    checked: _Checked,
    *,
    source: str,
    expected_challenge: str | None,
    now: dt.datetime,
    limit: WrongFlagLimit | None,
) -> solves.Attempt:
    """The attempt to record: judged, except for the limit, which the recording applies."""
    challenge, check = checked.challenge, checked.check
    return solves.Attempt(
        account_id=checked.account_id,
        module_id=registry.MODULE_ID,
        submitted=clean_submission(checked.submitted),
        source=source,
        when=now,
        solve_challenge=challenge.id if check.ok and challenge is not None else None,
        attempt_challenge=challenge.id if challenge else expected_challenge,
        expected_challenge=expected_challenge,
        failed_verdict=Verdict.of_problem(check.problem or FlagProblem.NOT_A_FLAG),
        refused_verdict=Verdict.RATE_LIMITED,
        limit=limit.flags if limit is not None else None,
        since=now - limit.period if limit is not None else now,
        wrong_verdicts=WRONG,
    )


def _record(store: Store, attempt: solves.Attempt) -> tuple[Verdict, list[dt.datetime]]:
    """Record the attempt in one commit: the verdict stored, and the times of the account's
    wrong attempts within the limit's period (for the wait)."""
    if store.engine.dialect.name == "postgresql":
        with store.outside_transaction() as db:
            return solves.record_submission(db, attempt)
    with store.write_lock(), store.engine.begin() as db:
        return solves.record_submission(db, attempt)


def _refused(limit: WrongFlagLimit, wrong: list[dt.datetime], now: dt.datetime) -> SubmitOutcome:
    # Refused on this very count, so there is a wait; never less than a second.
    wait = retry_after(wrong, limit.flags, limit.period, now) or 1
    message = MESSAGES[Verdict.RATE_LIMITED].format(
        limit=limit.flags, period=limit.describe_period(), wait=wait
    )
    return SubmitOutcome(Verdict.RATE_LIMITED, None, message, retry_after=wait)


def _judged(
    verdict: Verdict, checked: _Checked, expected: registry.Challenge | None, prefix: str
) -> SubmitOutcome:
    # On a challenge's page, name that challenge; from the CLI, the one the flag is for.
    named = expected or checked.challenge
    flag_challenge = checked.flag_challenge
    message = MESSAGES[verdict].format(
        title=named.title if named else "that challenge",
        flag_title=flag_challenge.title if flag_challenge else "another challenge",
        prefix=prefix,
    )
    return SubmitOutcome(verdict, checked.challenge.id if checked.challenge else None, message)
