"""What every handler needs: the dojo, the viewer, and page rendering."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar, TypeVarTuple

import anyio
import anyio.to_thread
import jinja2
from anyio.lowlevel import RunVar
from sqlalchemy import exc as database_errors
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from sockdojo.challenges import registry
from sockdojo.errors import MachineProblem
from sockdojo.scoreboard.model import DEFAULT_DAYS, WINDOWS
from sockdojo.verdict import Verdict
from sockdojo.web.dojo import Viewer, WebDojo
from sockdojo.web.fragments import fragment_renderer
from sockdojo.web.passwords import WAIT_SECONDS
from sockdojo.web.security import (
    BEARER_REFUSED,
    bearer_token,
    csrf_token,
    session_token,
    take_flashes,
)

WINDOW_NAMES = {30: "30 days", 7: "7 days", 0: "All time"}

# Keyed by Verdict, a str enum: the verdict strings read back from the database find them too.
VERDICT_NAMES: dict[str, str] = {
    Verdict.SOLVED: "solved",
    Verdict.ALREADY_SOLVED: "correct (already solved)",
    Verdict.NOT_A_FLAG: "not a flag",
    Verdict.OTHER_DOJO: "from another dojo",
    Verdict.TRUNCATED: "cut short",
    Verdict.NOT_YOURS: "someone else's flag",
    Verdict.WRONG_CHALLENGE: "for another challenge",
    Verdict.UNKNOWN_CHALLENGE: "retired challenge",
    Verdict.RATE_LIMITED: "refused: too many wrong flags",
}


_UNKNOWN = object()
Ts = TypeVarTuple("Ts")
T = TypeVar("T")

# How long a request waits for its database work (pool checkout, connecting, statements).
DATABASE_SECONDS = 5.0
# Threads for database work, apart from the ones static files and the rest use: a database that
# stops answering holds at most these, and static files still find threads of their own.
DATABASE_THREADS = 32
# Database work around a password hash: the database's share, the hasher's wait, the hash.
PASSWORD_WORK_SECONDS = DATABASE_SECONDS + WAIT_SECONDS + 5.0


class DatabaseUnavailable(MachineProblem):
    """The database did not answer in time, or refused us: the request gets a 503."""


# One limiter per event loop, as anyio keeps its default one (a limiter's waiters belong to
# the loop they wait in; tests run several loops in one process).
_database_threads: RunVar[anyio.CapacityLimiter] = RunVar("sockdojo_database_threads")


def _threads() -> anyio.CapacityLimiter:
    try:
        return _database_threads.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(DATABASE_THREADS)
        _database_threads.set(limiter)
        return limiter


async def in_database(work: Callable[[*Ts], T], *args: *Ts, seconds: float = DATABASE_SECONDS) -> T:
    """`work(*args)` in a database thread, within `seconds`, or DatabaseUnavailable.

    Work that also hashes a password (login, registration) is given PASSWORD_WORK_SECONDS: its
    turn for the hasher is bounded on its own (`Passwords.wait`), and must not pass for a
    database that does not answer.

    A database that hangs (a stopped server: the kernel still acknowledges our packets, so no
    socket timeout fires) keeps the thread; the request is not kept waiting on it. The thread
    returns to the pool when the database answers again.
    """
    try:
        with anyio.fail_after(seconds):
            return await anyio.to_thread.run_sync(
                work, *args, limiter=_threads(), abandon_on_cancel=True
            )
    except TimeoutError:
        raise DatabaseUnavailable(f"the database did not answer within {seconds:.0f} s") from None
    except (
        database_errors.OperationalError,
        database_errors.InterfaceError,
        database_errors.TimeoutError,
    ) as error:
        raise DatabaseUnavailable(
            "the database refused us", detail=type(getattr(error, "orig", None) or error).__name__
        ) from error


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
            holder = await in_database(_token_viewer, request, bearer)
            request.state.viewer = holder
            return holder
        token = session_token(request)
        viewer = await in_database(dojo_of(request).viewer, token) if token else None
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
        return await in_database(work, found if isinstance(found, Viewer) else None, *args)
    if bearer_token(request) is not None:
        return await in_database(work, await current_viewer(request), *args)
    token = session_token(request)
    dojo = dojo_of(request)

    def both() -> tuple[Viewer | None, T]:
        viewer = dojo.viewer(token) if token else None
        return viewer, work(viewer, *args)

    viewer, result = await in_database(both)
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


def check_text(value: str, what: str) -> str:
    """`value`, if a database can store it as text: no NUL (PostgreSQL refuses it) and no lone
    surrogate (JSON's "\\ud800" decodes to one; no database can encode it). Otherwise 400."""
    if "\x00" in value:
        raise HTTPException(400, f"The {what} holds a NUL character: remove it.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise HTTPException(400, f"The {what} holds a character that is not text.") from None
    return value


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
        # The templates ship with the package: no stat() of the template file on every page.
        auto_reload=False,
    )
    env.filters["when"] = when
    env.globals["module"] = {"id": registry.MODULE_ID, "title": registry.MODULE_TITLE}
    env.globals["window_names"] = WINDOW_NAMES
    env.globals["windows"] = WINDOWS
    env.globals["verdict_names"] = VERDICT_NAMES
    env.globals["fragment"] = fragment_renderer(env)
    return Jinja2Templates(env=env)


async def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    look_up_viewer: bool = True,
) -> Response:
    """A page from `template`. Without `look_up_viewer` it names the viewer only if the request
    looked them up already: for the pages that must not wait for the database."""
    dojo = dojo_of(request)
    now = dojo.now()
    # A refusal before the session middleware ran (a body declared too large) has no session.
    has_session = "session" in request.scope
    if look_up_viewer and has_session:
        viewer = await current_viewer(request)
    else:
        known = getattr(request.state, "viewer", None)
        viewer = known if isinstance(known, Viewer) else None
    page: dict[str, Any] = {
        "viewer": viewer,
        "csrf_token": csrf_token(request) if has_session else "",
        "flashes": take_flashes(request) if has_session else [],
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
