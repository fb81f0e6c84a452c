"""Checking a submitted flag and recording the outcome: one path for the CLI and the web dojo."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sockdojo.challenges import registry
from sockdojo.flags import FlagAuthority, FlagProblem
from sockdojo.flags.authority import clean_submission
from sockdojo.storage import solves
from sockdojo.storage.database import Store

MESSAGES = {
    "solved": "Correct! You solved {title}.",
    "already_solved": "Correct, and you had already solved {title}: nothing changes.",
    FlagProblem.NOT_A_FLAG.value: (
        "That is not a flag from this dojo. Copy the whole line the challenge printed, "
        "from '{prefix}{{' to '}}'."
    ),
    FlagProblem.TRUNCATED.value: (
        "That flag was cut short. Your program received only part of it: receive more "
        "(a bigger recv size, or keep calling recv until it returns b'') and print all of it."
    ),
    FlagProblem.NOT_YOURS.value: (
        "This flag is not yours. Flags are personal: run the challenge as yourself to get your own."
    ),
    FlagProblem.WRONG_CHALLENGE.value: (
        "This is your flag for {flag_title}, not for {title}. Submit it there instead."
    ),
    FlagProblem.UNKNOWN_CHALLENGE.value: (
        "This flag is genuine but its challenge is no longer part of this dojo."
    ),
}


@dataclass(frozen=True)
class SubmitOutcome:
    verdict: str  # "solved", "already_solved" or a FlagProblem value
    challenge_id: str | None
    message: str

    @property
    def correct(self) -> bool:
        return self.verdict in ("solved", "already_solved")


def submit_flag(
    store: Store,
    authority: FlagAuthority,
    *,
    account_id: int,
    submitted: str,
    source: str,
    expected_challenge: str | None = None,
    now: dt.datetime | None = None,
) -> SubmitOutcome:
    expected = registry.get(expected_challenge) if expected_challenge else None
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
    challenge = flag_challenge if own else None
    with store.session() as session:
        if check.ok and challenge is not None:
            fresh = solves.record_solve(
                session,
                account_id=account_id,
                module_id=registry.MODULE_ID,
                challenge_id=challenge.id,
                when=now,
            )
            verdict = "solved" if fresh else "already_solved"
        else:
            verdict = check.problem.value if check.problem else FlagProblem.NOT_A_FLAG.value
        solves.record_attempt(
            session,
            account_id=account_id,
            module_id=registry.MODULE_ID,
            challenge_id=challenge.id if challenge else expected_challenge,
            submitted=clean_submission(submitted),
            verdict=verdict,
            source=source,
            when=now,
        )
    # On a challenge's page, name that challenge; from the CLI, the one the flag is for.
    named = expected or challenge
    message = MESSAGES[verdict].format(
        title=named.title if named else "that challenge",
        flag_title=flag_challenge.title if flag_challenge else "another challenge",
        prefix=authority.prefix,
    )
    return SubmitOutcome(verdict, challenge.id if challenge else None, message)
