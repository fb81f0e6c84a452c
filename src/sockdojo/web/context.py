"""What every handler needs: the dojo, the viewer, and page rendering."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar, TypeVarTuple

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from sockdojo.challenges import registry
from sockdojo.scoreboard.model import DEFAULT_DAYS, WINDOWS
from sockdojo.web.dojo import Viewer, WebDojo
from sockdojo.web.security import (
    BEARER_REFUSED,
    bearer_token,
    csrf_token,
    session_token,
    take_flashes,
)

WINDOW_NAMES = {30: "30 days", 7: "7 days", 0: "All time"}

VERDICT_NAMES = {
    "solved": "solved",
    "already_solved": "correct (already solved)",
    "not_a_flag": "not a flag",
    "other_dojo": "from another dojo",
    "truncated": "cut short",
    "not_yours": "someone else's flag",
    "wrong_challenge": "for another challenge",
    "unknown_challenge": "retired challenge",
    "rate_limited": "refused: too many wrong flags",
}


_UNKNOWN = object()
Ts = TypeVarTuple("Ts")
T = TypeVar("T")


def dojo_of(request: Request) -> WebDojo:
    dojo = request.app.state.dojo
    assert isinstance(dojo, WebDojo)
    return dojo


def _remember(request: Request, token: str | None, found: Viewer | None) -> None:
    if token and found is None:
        # Logged out elsewhere or expired: forget the dead token.
        request.session.pop("sid", None)
    request.state.viewer = found


def _token_viewer(request: Request, token: str) -> Viewer:
    viewer = request.app.state.classroom.token_viewer(token)
    if not isinstance(viewer, Viewer):
        raise HTTPException(401, BEARER_REFUSED, headers={"WWW-Authenticate": "Bearer"})
    return viewer


async def current_viewer(request: Request) -> Viewer | None:
    """The signed-in account, looked up once per request: by its API token when it sends one
    (a dead token is a 401, never a fall back to the cookie), else by its session cookie."""
    found = getattr(request.state, "viewer", _UNKNOWN)
    if found is _UNKNOWN:
        bearer = bearer_token(request)
        if bearer is not None:
            holder = await run_in_threadpool(_token_viewer, request, bearer)
            request.state.viewer = holder
            return holder
        token = session_token(request)
        viewer = await run_in_threadpool(dojo_of(request).viewer, token) if token else None
        _remember(request, token, viewer)
        return viewer
    return found if isinstance(found, Viewer) else None


async def as_viewer(request: Request, work: Callable[[Viewer | None, *Ts], T], *args: *Ts) -> T:
    """`work(viewer, *args)` in a worker thread, the viewer looked up in the same thread.

    A signed-in page or API read then costs one trip to the thread pool instead of two (the
    trip costs about as much as the session look-up itself).
    """
    found = getattr(request.state, "viewer", _UNKNOWN)
    if found is not _UNKNOWN:
        return await run_in_threadpool(work, found if isinstance(found, Viewer) else None, *args)
    if bearer_token(request) is not None:
        return await run_in_threadpool(work, await current_viewer(request), *args)
    token = session_token(request)
    dojo = dojo_of(request)

    def both() -> tuple[Viewer | None, T]:
        viewer = dojo.viewer(token) if token else None
        return viewer, work(viewer, *args)

    viewer, result = await run_in_threadpool(both)
    _remember(request, token, viewer)
    return result


async def require_viewer(request: Request) -> Viewer:
    viewer = await current_viewer(request)
    if viewer is None:
        raise HTTPException(401, "Log in first.")
    return viewer


async def require_admin(request: Request) -> Viewer:
    viewer = await require_viewer(request)
    if not viewer.is_admin or viewer.token_id is not None:
        # An API token is for the CLI: it never opens admin pages or admin API, even an
        # admin's (a leaked token must not be able to run the dojo).
        raise HTTPException(403, "Only the dojo's admins can do that.")
    return viewer


def parse_days(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_DAYS
    if raw.isdigit() and int(raw) in WINDOWS:
        return int(raw)
    raise HTTPException(400, "days must be 30, 7 or 0 (all time).")


def when(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def ago(value: dt.datetime, now: dt.datetime) -> str:
    seconds = int((now - value).total_seconds())
    if seconds < 60:
        return "just now"
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"  # pragma: no cover - the loop always returns


def make_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("sockdojo.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.globals["module"] = {"id": registry.MODULE_ID, "title": registry.MODULE_TITLE}
    env.globals["window_names"] = WINDOW_NAMES
    env.globals["windows"] = WINDOWS
    env.globals["verdict_names"] = VERDICT_NAMES
    return Jinja2Templates(env=env)


async def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    dojo = dojo_of(request)
    now = dojo.now()
    page: dict[str, Any] = {
        "viewer": await current_viewer(request),
        "csrf_token": csrf_token(request),
        "flashes": take_flashes(request),
        "now": now,
        "ago": lambda value: ago(value, now),
        "flag_prefix": dojo.authority.prefix,
    }
    page.update(context or {})
    templates = request.app.state.templates
    assert isinstance(templates, Jinja2Templates)
    return templates.TemplateResponse(
        request, template, page, status_code=status_code, headers=headers
    )
