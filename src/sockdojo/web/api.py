"""The JSON API, version 1. `openapi.py` describes it; a test keeps the two in step."""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sockdojo.challenges import registry
from sockdojo.scoreboard import Row
from sockdojo.web.context import (
    as_viewer,
    check_text,
    current_viewer,
    dojo_of,
    in_database,
    parse_days,
    require_viewer,
)
from sockdojo.web.dojo import ChallengeState, RateLimited
from sockdojo.web.openapi import document
from sockdojo.web.security import check_api_csrf, csrf_token

PREFIX = "/api/v1"
BODY_LIMIT = 8 * 1024


def _module(request: Request) -> str:
    module = request.path_params["module"]
    if module != registry.MODULE_ID:
        raise HTTPException(404, "There is no such module.")
    return str(module)


def row_json(row: Row) -> dict[str, Any]:
    return {
        "rank": row.rank,
        "hacker": row.hacker,
        "badges": [badge.emoji for badge in row.badges],
        "score": row.score,
        "last_solve_at": row.last_solve_at.isoformat(),
        "awards": [
            {"emoji": badge.emoji, "title": badge.title, "kind": badge.kind} for badge in row.badges
        ],
    }


def challenge_json(state: ChallengeState) -> dict[str, Any]:
    challenge = state.challenge
    return {
        "id": challenge.id,
        "number": challenge.number,
        "title": challenge.title,
        "summary": challenge.summary,
        "run": challenge.run_usage,
        "solved": state.solved,
        "solved_at": state.solved_at.isoformat() if state.solved_at else None,
        "solves": state.solves,
    }


async def openapi(request: Request) -> Response:
    return JSONResponse(document())


async def modules(request: Request) -> Response:
    states = await as_viewer(request, dojo_of(request).challenge_states)
    return JSONResponse(
        {
            "modules": [
                {
                    "id": registry.MODULE_ID,
                    "title": registry.MODULE_TITLE,
                    "challenges": len(states),
                    "solved": sum(state.solved for state in states),
                }
            ]
        }
    )


async def challenges(request: Request) -> Response:
    _module(request)
    states = await as_viewer(request, dojo_of(request).challenge_states)
    return JSONResponse({"challenges": [challenge_json(state) for state in states]})


async def scoreboard(request: Request) -> Response:
    _module(request)
    days = parse_days(request.query_params.get("days"))
    board = await as_viewer(request, dojo_of(request).board, days)
    return JSONResponse(
        {
            "days": days,
            "rows": [row_json(row) for row in board.rows],
            "me": row_json(board.me) if board.me else None,
        }
    )


async def submissions(request: Request) -> Response:
    _module(request)
    check_api_csrf(request)
    viewer = await require_viewer(request)
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise HTTPException(415, 'Send the flag as JSON: {"flag": "..."}.')
    body = await request.body()
    if len(body) > BODY_LIMIT:
        raise HTTPException(413, "That request is far too large to hold a flag.")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested a thousand levels deep
        raise HTTPException(400, "The body is not valid JSON.") from None
    flag = payload.get("flag") if isinstance(payload, dict) else None
    challenge = payload.get("challenge") if isinstance(payload, dict) else None
    if not isinstance(flag, str):
        raise HTTPException(400, 'Send {"flag": "...", "challenge": "..." (optional)}.')
    # A NUL in a flag is kept (as U+FFFD) and judged "not a flag", as from the CLI.
    check_text(flag.replace("\x00", ""), "flag")
    if challenge is not None and isinstance(challenge, str):
        check_text(challenge, "challenge")
    if challenge is not None and (not isinstance(challenge, str) or not registry.get(challenge)):
        raise HTTPException(400, "There is no such challenge in this module.")
    try:
        outcome = await in_database(dojo_of(request).submit, viewer, flag, challenge, "api")
    except RateLimited as limited:
        return JSONResponse(
            {"error": limited.message, "retry_after": limited.retry_after},
            status_code=429,
            headers={"Retry-After": str(limited.retry_after)},
        )
    return JSONResponse(
        {
            "correct": outcome.correct,
            "verdict": outcome.verdict.value,
            "challenge": outcome.challenge_id,
            "message": outcome.message,
        }
    )


async def me(request: Request) -> Response:
    viewer = await current_viewer(request)
    account = (
        {"name": viewer.name, "admin": viewer.is_admin, "hidden": viewer.is_hidden}
        if viewer
        else None
    )
    # Reading this needs the session cookie and same-origin access, which is what the CSRF
    # token stands for: handing it out here lets scripts on our pages make API POSTs.
    return JSONResponse({"account": account, "csrf_token": csrf_token(request)})


async def hacker(request: Request) -> Response:
    viewer = await current_viewer(request)
    page = await in_database(dojo_of(request).hacker_page, request.path_params["name"], viewer)
    if page is None:
        raise HTTPException(404, "There is no hacker by that name.")
    return JSONResponse(
        {
            "hacker": page.name,
            "admin": page.is_admin,
            "hidden": page.is_hidden,
            "badges": [
                {"emoji": badge.emoji, "title": badge.title, "kind": badge.kind}
                for badge in page.badges
            ],
            "solves": [
                {"challenge": challenge.id, "solved_at": when.isoformat()}
                for challenge, when in page.solves
            ],
            "standings": [
                {"days": standing.days, "rank": standing.rank, "score": standing.score}
                for standing in page.standings
            ],
        }
    )


ROUTES = [
    Route(f"{PREFIX}/openapi.json", openapi, name="openapi"),
    Route(f"{PREFIX}/me", me),
    Route(f"{PREFIX}/modules", modules),
    Route(f"{PREFIX}/modules/{{module}}/challenges", challenges),
    Route(f"{PREFIX}/modules/{{module}}/scoreboard", scoreboard),
    Route(f"{PREFIX}/modules/{{module}}/submissions", submissions, methods=["POST"]),
    Route(f"{PREFIX}/hackers/{{name}}", hacker),
]
