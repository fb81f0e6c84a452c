"""Building the web dojo's ASGI application."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from sockdojo.errors import MachineProblem
from sockdojo.flags import FlagAuthority
from sockdojo.scoreboard import ScoreboardSource
from sockdojo.scoreboard.model import DEFAULT_DAYS
from sockdojo.storage.database import Store
from sockdojo.storage.models import utcnow
from sockdojo.web import api, class_api, class_pages, instructor, pages
from sockdojo.web.classroom import ClassLimits, Classroom
from sockdojo.web.context import make_templates, render
from sockdojo.web.dojo import Limits, WebDojo
from sockdojo.web.passwords import Passwords
from sockdojo.web.security import BodyLimit, SecurityHeaders

SESSION_COOKIE = "sockdojo_session"

ERROR_TITLES = {
    400: "That request does not make sense",
    401: "Log in first",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    413: "Too large",
    415: "Wrong kind of data",
    429: "Slow down",
}


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    headers = dict(error.headers or {})
    if request.url.path.startswith(api.PREFIX):
        return JSONResponse({"error": error.detail}, status_code=error.status_code, headers=headers)
    if error.status_code == 401 and request.method == "GET":
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    return await render(
        request,
        "error.html",
        {"title": ERROR_TITLES.get(error.status_code, "Something went wrong"), "error": error},
        status_code=error.status_code,
        headers=headers,
    )


UNAVAILABLE = "The dojo cannot save or read anything right now; its operator has been told."


async def _machine_problem(request: Request, error: Exception) -> Response:
    """The machine stopped the dojo (its database file deleted, its disk full): a 503.

    The sentence, which names the server's files, goes to the operator's console; the visitor
    gets a plain page or our JSON error, made without the database (which just failed).
    """
    assert isinstance(error, MachineProblem)
    logging.getLogger("sockdojo.web").error("%s %s: %s", request.method, request.url.path, error)
    if request.url.path.startswith(api.PREFIX):
        return JSONResponse({"error": UNAVAILABLE}, status_code=503)
    page = f"<!doctype html><title>Unavailable</title><h1>Unavailable</h1><p>{UNAVAILABLE}</p>"
    return HTMLResponse(page, status_code=503)


def create_app(
    store: Store,
    authority: FlagAuthority,
    *,
    secret_key: str,
    passwords: Passwords | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
    scoreboard: ScoreboardSource | None = None,
    limits: Limits | None = None,
    secure_cookies: bool = False,
    class_limits: ClassLimits | None = None,
    public_url: str | None = None,
) -> Starlette:
    """The web dojo over `store`, checking flags with `authority`.

    `secret_key` signs the session cookie. `secure_cookies` marks the cookie Secure: set it
    when the dojo is served over HTTPS (behind a reverse proxy, for instance). `public_url`
    is the address learners reach it at (the device login shows it); without it, each
    request's own.
    """
    if len(secret_key) < 32:
        raise ValueError("the session secret key must be at least 32 characters")
    app = Starlette(
        routes=[
            *pages.ROUTES,
            *api.ROUTES,
            *class_pages.ROUTES,
            *class_api.ROUTES,
            *instructor.ROUTES,
            Mount("/static", StaticFiles(packages=[("sockdojo.web", "static")]), name="static"),
        ],
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(BodyLimit),
            Middleware(
                SessionMiddleware,
                secret_key=secret_key,
                session_cookie=SESSION_COOKIE,
                same_site="lax",
                https_only=secure_cookies,
                max_age=int((limits or Limits()).session_lifetime.total_seconds()),
            ),
        ],
        exception_handlers={HTTPException: _http_error, MachineProblem: _machine_problem},
    )
    app.state.dojo = WebDojo(
        store,
        authority,
        passwords=passwords,
        clock=clock,
        scoreboard=scoreboard,
        limits=limits,
    )
    app.state.classroom = Classroom(app.state.dojo, class_limits or ClassLimits())
    app.state.public_url = public_url.rstrip("/") if public_url else None
    app.state.templates = make_templates()
    return app


def warm_up(app: Starlette) -> None:
    """Load the scoreboard before the first request rather than during it."""
    dojo = app.state.dojo
    assert isinstance(dojo, WebDojo)
    dojo.board(None, DEFAULT_DAYS, limit=0)


def release_connections(app: Starlette) -> None:
    """Close the app's database connections, keeping everything it has loaded.

    The parent of `sockdojo serve --workers N` calls this after `warm_up` and before it forks
    the workers, so that no connection (a file, a socket to PostgreSQL) is shared by two
    processes: each worker opens its own on its first request, and its live scoreboard, copied
    from the parent's, catches up with the database then, as before every answer.
    """
    dojo = app.state.dojo
    assert isinstance(dojo, WebDojo)
    close = getattr(dojo.scoreboard, "close", None)
    if callable(close):
        close()
    dojo.store.engine.dispose()


def after_fork(app: Starlette) -> None:
    """In a forked worker: forget any pooled connection inherited from the parent, without
    closing it (that would end the parent's session with the database), as SQLAlchemy advises
    for pools crossing a fork. A no-op after `release_connections`; a safety net without it."""
    dojo = app.state.dojo
    assert isinstance(dojo, WebDojo)
    dojo.store.engine.dispose(close=False)
