"""Every shape the JSON API (`/api/v1`) sends or takes, declared once, as msgspec structs.

The handlers (`web/api.py`, `web/class_api.py`, `web/instructor.py`) build these and answer
through `web/api_answers.py`; `web/openapi.py` derives the OpenAPI document's schemas from
them; the logged-in CLI reads the server's scoreboard into `Scoreboard` and the local CLI
prints the same struct. Docstrings and `Meta(description=...)` become the document's words.

This module imports msgspec and the standard library only (and, for types, nothing at run
time): the logged-in CLI imports it and must not pay for the web stack.

Timestamps are sent as `datetime.isoformat()` wrote them before these shapes existed
("2026-11-20T12:00:00+00:00"), hence strings with the date-time format rather than msgspec's
own datetime encoding (which writes "Z").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal, Protocol, get_args

import msgspec
from msgspec import Meta

from sockdojo.scoreboard.model import WINDOWS, BadgeKind
from sockdojo.verdict import CHECKED, Verdict

if TYPE_CHECKING:
    from sockdojo.scoreboard import model as scoreboard

Timestamp = Annotated[str, Meta(extra_json_schema={"format": "date-time"})]
Days = Annotated[int, Meta(extra_json_schema={"enum": list(WINDOWS)})]
# A diagnosis code as `sockdojo.mistakes` names them: "nothing-listening", "udp-server".
DIAGNOSIS_CODE = "[a-z0-9][a-z0-9_.-]{0,63}"
DIAGNOSES_LIMIT = 20


class Shape(msgspec.Struct, kw_only=True):
    """The base of every shape: fields by name only. Readers ignore fields they do not know
    (a newer server must not break an older CLI); the document still says that the server
    sends no others (`openapi.py` closes every object it answers with)."""


# Errors


class Error(Shape):
    """Every refusal and failure under /api/ (`web/errors.py`)."""

    error: str


class SlowDown(Error):
    """Refused for now: over a per-account limit. The Retry-After header says the same."""

    retry_after: Annotated[int, Meta(description="Seconds to wait")]


OAuthErrorCode = Literal[
    "authorization_pending",
    "slow_down",
    "expired_token",
    "access_denied",
    "invalid_grant",
    "unsupported_grant_type",
]


class OAuthError(Shape):
    """A device-token poll that gave no token (RFC 8628 section 3.5)."""

    error: OAuthErrorCode
    error_description: str


# The dojo


class Account(Shape):
    name: str
    admin: bool
    hidden: bool


class Me(Shape):
    account: Account | None
    csrf_token: Annotated[
        str, Meta(description="Send it back in the X-CSRF-Token header of every POST.")
    ]


class Module(Shape):
    id: str
    title: str
    challenges: int
    solved: int


class Modules(Shape):
    modules: list[Module]


class Challenge(Shape):
    id: str
    number: int
    title: str
    summary: str
    run: Annotated[str, Meta(description="The command that starts it.")]
    solved: bool
    solved_at: Timestamp | None
    solves: Annotated[int, Meta(description="Ranked hackers who solved it.")]


class Challenges(Shape):
    challenges: list[Challenge]


class Award(Shape):
    emoji: str
    title: str
    # A string that the document enumerates, not a Literal: a CLI must still read the
    # scoreboard of a newer server with a kind of badge it does not know.
    kind: Annotated[str, Meta(extra_json_schema={"enum": list(get_args(BadgeKind))})]


class Row(Shape):
    """A scoreboard row: the API's, and `sockdojo scoreboard --json`'s."""

    rank: Annotated[int, Meta(ge=1)]
    hacker: str
    badges: Annotated[list[str], Meta(description="The badges' emoji, in display order.")]
    score: Annotated[int, Meta(ge=1)]
    last_solve_at: Timestamp
    awards: list[Award]


class Scoreboard(Shape):
    """A window of the module's scoreboard."""

    days: Days
    rows: list[Row]
    me: Annotated[
        Row | None,
        Meta(
            description=(
                "The viewer's own row, wherever it ranks; null when anonymous, hidden, an "
                "admin, or without solves in the window."
            )
        ),
    ]


class Submission(Shape):
    """A flag, sent as JSON."""

    flag: str
    challenge: Annotated[
        str | None,
        Meta(description="The challenge it is meant for; omit to take the flag's own."),
    ] = None


class Judged(Shape):
    """A checked submission, right or wrong (a refused one is a 429)."""

    correct: bool
    verdict: Annotated[Verdict, Meta(extra_json_schema={"enum": [v.value for v in CHECKED]})]
    challenge: str | None
    message: str


class HackerSolve(Shape):
    challenge: str
    solved_at: Timestamp


class Standing(Shape):
    days: Days
    rank: int | None
    score: int


class Hacker(Shape):
    hacker: str
    admin: bool
    hidden: bool
    badges: list[Award]
    solves: list[HackerSolve]
    standings: list[Standing]


# Class mode: device login (RFC 8628), tokens, flags minted for runs, run reports


class DeviceCodeRequest(Shape):
    """Sent as a form (RFC 8628) or JSON."""

    client_host: str = ""
    client_platform: str = ""


class DeviceCode(Shape):
    device_code: str
    user_code: Annotated[str, Meta(description="XXXX-XXXX, consonants only")]
    verification_uri: Annotated[str, Meta(extra_json_schema={"format": "uri"})]
    verification_uri_complete: Annotated[str, Meta(extra_json_schema={"format": "uri"})]
    expires_in: int
    interval: int


# RFC 8628's grant type, the only one the token endpoint takes.
DeviceGrant = Literal["urn:ietf:params:oauth:grant-type:device_code"]
DEVICE_GRANT: DeviceGrant = get_args(DeviceGrant)[0]


class DeviceTokenRequest(Shape):
    """Sent as a form (RFC 8628) or JSON."""

    grant_type: DeviceGrant
    device_code: str


class DeviceToken(Shape):
    access_token: str
    expires_in: int
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the OAuth token type, no secret


class CurrentToken(Shape):
    account: Account
    server: Annotated[str, Meta(description="The address learners reach the dojo at.")]


class Revoked(Shape):
    revoked: bool


class MintRequest(Shape):
    run: Annotated[str, Meta(description="The run's key, sent again with its report")] = ""


class MintedFlag(Shape):
    flag: str
    challenge: str


class RunReport(Shape):
    """What a CLI run showed, sent when it ends."""

    challenge: str
    passed: bool
    duration_ms: Annotated[int, Meta(ge=0, lt=2**31)]
    diagnoses: Annotated[
        # msgspec searches with Python's `re`, where `$` also matches before a final newline;
        # the lookahead refuses "udp-server\n" (a JSON Schema reader's `$` is the end anyway).
        list[Annotated[str, Meta(pattern=f"^{DIAGNOSIS_CODE}(?!\\n)$")]],
        Meta(max_length=DIAGNOSES_LIMIT),
    ] = msgspec.field(default_factory=list)
    version: str = ""
    platform: str = ""
    run: Annotated[str, Meta(description="The run's key, as sent when minting")] = ""


class Recorded(Shape):
    recorded: bool


class Run(Shape):
    challenge: str
    passed: bool
    diagnoses: list[str]
    duration_ms: int
    version: str
    platform: str
    at: Timestamp


class Runs(Shape):
    runs: list[Run]


# The instructor's view (admins, in a browser)


CellState = Literal["solved", "attempted", "not_started"]


class ClassCell(Shape):
    state: CellState
    solved_at: Timestamp | None
    last_diagnosis: str | None
    runs: int


class ClassLearner(Shape):
    hacker: str
    hidden: bool
    total: int
    challenges: Annotated[dict[str, ClassCell], Meta(description="By challenge id.")]


class StuckCode(Shape):
    challenge: str
    diagnosis: str
    learners: Annotated[list[str], Meta(description="Met it in the last 7 days.")]
    solved_after: Annotated[list[str], Meta(description="Of those, solved it afterwards.")]


class ClassView(Shape):
    """The progress matrix and where the class is stuck."""

    challenges: list[str]
    learners: list[ClassLearner]
    stuck: list[StuckCode]


# From the dojo's own types


def row_of(row: scoreboard.Row) -> Row:
    """A scoreboard row (the live scoreboard's or the SQL reference's) in the API's shape."""
    return Row(
        rank=row.rank,
        hacker=row.hacker,
        badges=[badge.emoji for badge in row.badges],
        score=row.score,
        last_solve_at=row.last_solve_at.isoformat(),
        awards=[award_of(badge) for badge in row.badges],
    )


def award_of(badge: scoreboard.Badge) -> Award:
    return Award(emoji=badge.emoji, title=badge.title, kind=badge.kind)


class Outcome(Protocol):
    """A checked flag's outcome: `submissions.SubmitOutcome`, or the logged-in CLI's
    `cli.remote.RemoteOutcome` (which holds the server's `Judged`)."""

    @property
    def correct(self) -> bool: ...
    @property
    def verdict(self) -> Verdict: ...
    @property
    def challenge_id(self) -> str | None: ...
    @property
    def message(self) -> str: ...


def judged_of(outcome: Outcome) -> Judged:
    """A submission's outcome as the API answers it and `sockdojo submit --json` prints it."""
    return Judged(
        correct=outcome.correct,
        verdict=outcome.verdict,
        challenge=outcome.challenge_id,
        message=outcome.message,
    )


def scoreboard_of(board: scoreboard.Board, days: int) -> Scoreboard:
    return Scoreboard(
        days=days,
        rows=[row_of(row) for row in board.rows],
        me=row_of(board.me) if board.me else None,
    )
