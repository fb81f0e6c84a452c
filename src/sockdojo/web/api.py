"""The JSON API, version 1: the module, its challenges and scoreboard, flags, hackers.

Each route declares what it takes and answers (`api_routes.ApiRoute`), in the shapes of
`sockdojo.api_shapes`; `openapi.py` builds the served document from those declarations.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from sockdojo import api_shapes as shapes
from sockdojo.challenges import registry
from sockdojo.scoreboard.model import DEFAULT_DAYS
from sockdojo.web.api_routes import (
    JSON,
    RETRY_AFTER,
    SESSION_AND_CSRF,
    ApiRoute,
    Body,
    ModuleId,
    Query,
    Reply,
    answer,
)
from sockdojo.web.context import as_viewer, current_viewer, dojo_of, require_viewer
from sockdojo.web.database_work import in_database
from sockdojo.web.dojo import ChallengeState, RateLimited
from sockdojo.web.inputs import check_text, parse_days, parse_json
from sockdojo.web.openapi import document
from sockdojo.web.security import check_api_csrf, csrf_token

BODY_LIMIT = 8 * 1024
NO_MODULE = Reply(shapes.Error, "No such module")
DAYS_QUERY = Annotated[shapes.Days, Meta(extra_json_schema={"default": DEFAULT_DAYS})]
SUBMISSION_HELP = 'Send {"flag": "...", "challenge": "..." (optional)}.'


def module_of(request: Request) -> str:
    """The module the path names: Sockets, or a 404."""
    module = request.path_params["module"]
    if module != registry.MODULE_ID:
        raise HTTPException(404, "There is no such module.")
    return str(module)


def challenge_shape(state: ChallengeState) -> shapes.Challenge:
    challenge = state.challenge
    return shapes.Challenge(
        id=challenge.id,
        number=challenge.number,
        title=challenge.title,
        summary=challenge.summary,
        run=challenge.run_usage,
        solved=state.solved,
        solved_at=state.solved_at.isoformat() if state.solved_at else None,
        solves=state.solves,
    )


def slow_down(limited: RateLimited) -> Response:
    """A 429 for an account over one of its limits (the Retry-After header says it too)."""
    return answer(
        shapes.SlowDown(error=limited.message, retry_after=limited.retry_after),
        429,
        {RETRY_AFTER: str(limited.retry_after)},
    )


async def openapi(request: Request) -> Response:
    """This description"""
    # Built once per app, from its own route table.
    state = request.app.state
    if getattr(state, "openapi", None) is None:
        state.openapi = document(request.app.routes)
    return answer(state.openapi)


async def modules(request: Request) -> Response:
    """The dojo's modules"""
    states = await as_viewer(request, dojo_of(request).challenge_states)
    module = shapes.Module(
        id=registry.MODULE_ID,
        title=registry.MODULE_TITLE,
        challenges=len(states),
        solved=sum(state.solved for state in states),
    )
    return answer(shapes.Modules(modules=[module]))


async def challenges(request: Request) -> Response:
    """The module's challenges, with the viewer's solved state"""
    module_of(request)
    states = await as_viewer(request, dojo_of(request).challenge_states)
    return answer(shapes.Challenges(challenges=[challenge_shape(state) for state in states]))


async def scoreboard(request: Request) -> Response:
    """The module's scoreboard over a window

    Score: the module's challenges solved within the last `days` days (0: all time) and since
    the module's launch. Ranks are unique: score, then who reached it first, then account id.
    Hidden and admin accounts are left out.
    """
    module_of(request)
    days = parse_days(request.query_params.get("days"))
    board = await as_viewer(request, dojo_of(request).board, days)
    return answer(shapes.scoreboard_of(board, days))


def _submission(body: bytes) -> shapes.Submission:
    payload = parse_json(body)
    try:
        submission = msgspec.convert(payload, shapes.Submission)
    except msgspec.ValidationError:
        flag_ok = isinstance(payload, dict) and isinstance(payload.get("flag"), str)
        # With a flag in order, what is wrong is the challenge: not a string.
        raise HTTPException(
            400, "There is no such challenge in this module." if flag_ok else SUBMISSION_HELP
        ) from None
    # A NUL in a flag is kept (as U+FFFD) and judged "not a flag", as from the CLI.
    check_text(submission.flag.replace("\x00", ""), "flag")
    if submission.challenge is not None:
        check_text(submission.challenge, "challenge")
        if not registry.get(submission.challenge):
            raise HTTPException(400, "There is no such challenge in this module.")
    return submission


async def submissions(request: Request) -> Response:
    """Submit a flag"""
    module_of(request)
    check_api_csrf(request)
    viewer = await require_viewer(request)
    if request.headers.get("content-type", "").split(";")[0].strip() != JSON:
        raise HTTPException(415, 'Send the flag as JSON: {"flag": "..."}.')
    body = await request.body()
    if len(body) > BODY_LIMIT:
        raise HTTPException(413, "That request is far too large to hold a flag.")
    submission = _submission(body)
    try:
        outcome = await in_database(
            dojo_of(request).submit, viewer, submission.flag, submission.challenge, "api"
        )
    except RateLimited as limited:
        return slow_down(limited)
    return answer(shapes.judged_of(outcome))


async def me(request: Request) -> Response:
    """The signed-in account (or null) and the session's CSRF token"""
    viewer = await current_viewer(request)
    account = viewer.account_shape() if viewer else None
    # Reading this needs the session cookie and same-origin access, which is what the CSRF
    # token stands for: handing it out here lets scripts on our pages make API POSTs.
    return answer(shapes.Me(account=account, csrf_token=csrf_token(request)))


async def hacker(request: Request) -> Response:
    """A hacker's badges, solves and standings"""
    viewer = await current_viewer(request)
    page = await in_database(dojo_of(request).hacker_page, request.path_params["name"], viewer)
    if page is None:
        raise HTTPException(404, "There is no hacker by that name.")
    return answer(
        shapes.Hacker(
            hacker=page.name,
            admin=page.is_admin,
            hidden=page.is_hidden,
            badges=[shapes.award_of(badge) for badge in page.badges],
            solves=[
                shapes.HackerSolve(challenge=challenge.id, solved_at=when.isoformat())
                for challenge, when in page.solves
            ],
            standings=list(page.standings),
        )
    )


def _ok(shape: Any, description: str = "OK") -> dict[int, Reply]:
    return {200: Reply(shape, description)}


ROUTES = [
    ApiRoute("/openapi.json", openapi, name="openapi", replies=_ok(dict[str, Any])),
    ApiRoute("/me", me, replies=_ok(shapes.Me)),
    ApiRoute("/modules", modules, replies=_ok(shapes.Modules)),
    ApiRoute(
        "/modules/{module}/challenges",
        challenges,
        path_params={"module": ModuleId},
        replies={**_ok(shapes.Challenges), 404: NO_MODULE},
    ),
    ApiRoute(
        "/modules/{module}/scoreboard",
        scoreboard,
        path_params={"module": ModuleId},
        query=[Query("days", DAYS_QUERY, "The window in days (0: all time)")],
        replies={
            **_ok(shapes.Scoreboard),
            400: Reply(shapes.Error, "days is not 30, 7 or 0"),
            404: NO_MODULE,
        },
    ),
    ApiRoute(
        "/modules/{module}/submissions",
        submissions,
        method="POST",
        path_params={"module": ModuleId},
        body=Body(shapes.Submission),
        security=SESSION_AND_CSRF,
        replies={
            200: Reply(shapes.Judged, "Checked and stored (right or wrong)"),
            400: Reply(shapes.Error, "Not a valid submission"),
            401: Reply(shapes.Error, "Not signed in (or a refused API token)"),
            403: Reply(shapes.Error, "Missing or wrong CSRF token"),
            404: NO_MODULE,
            413: Reply(shapes.Error, "Body too large"),
            415: Reply(shapes.Error, "Body is not JSON"),
            429: Reply(shapes.SlowDown, "Too many wrong flags in the last minute", (RETRY_AFTER,)),
        },
    ),
    ApiRoute(
        "/hackers/{name}",
        hacker,
        replies={**_ok(shapes.Hacker), 404: Reply(shapes.Error, "No such hacker (or hidden)")},
    ),
]
