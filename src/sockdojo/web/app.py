"""Building the web dojo's ASGI application."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from sockdojo.errors import MachineProblem
from sockdojo.scoreboard.model import DEFAULT_DAYS
from sockdojo.web import api, class_api, class_pages, instructor, pages
from sockdojo.web.classroom import ClassLimits, Classroom
from sockdojo.web.database_work import DatabaseUnavailable
from sockdojo.web.dojo import WebDojo
from sockdojo.web.errors import (
    InternalErrors,
    database_unavailable,
    http_error,
    machine_problem,
)
from sockdojo.web.rendering import make_templates
from sockdojo.web.security import BodyLimit, SecurityHeaders

SESSION_COOKIE = "sockdojo_session"
# The route table: the API's routes among them declare what they take and answer, and the
# OpenAPI document is built from them (`openapi.document`).
ROUTES = [
    *pages.ROUTES,
    *api.ROUTES,
    *class_pages.ROUTES,
    *class_api.ROUTES,
    *instructor.ROUTES,
    Mount("/static", StaticFiles(packages=[("sockdojo.web", "static")]), name="static"),
]


def create_app(
    dojo: WebDojo,
    *,
    secret_key: str,
    secure_cookies: bool = False,
    class_limits: ClassLimits | None = None,
    public_url: str | None = None,
) -> Starlette:
    """The web application of `dojo` (its store, flag authority, clock, scoreboard, limits).

    `secret_key` signs the session cookie. `secure_cookies` marks the cookie Secure: set it
    when the dojo is served over HTTPS (behind a reverse proxy, for instance). `public_url`
    is the address learners reach it at (the device login shows it); without it, each
    request's own.
    """
    if len(secret_key) < 32:
        raise ValueError("the session secret key must be at least 32 characters")
    app = Starlette(
        routes=ROUTES,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(InternalErrors),
            Middleware(BodyLimit),
            Middleware(
                SessionMiddleware,
                secret_key=secret_key,
                session_cookie=SESSION_COOKIE,
                same_site="lax",
                https_only=secure_cookies,
                max_age=int(dojo.limits.session_lifetime.total_seconds()),
            ),
        ],
        exception_handlers={
            HTTPException: http_error,
            DatabaseUnavailable: database_unavailable,
            MachineProblem: machine_problem,
        },
    )
    app.state.dojo = dojo
    app.state.classroom = Classroom(dojo, class_limits or ClassLimits())
    app.state.public_url = public_url.rstrip("/") if public_url else None
    app.state.templates = make_templates()
    return app


def warm_up(app: Starlette) -> None:
    """Load the scoreboard before the first request rather than during it: the module page's
    default window, and the all-time board (its per-account totals), which every hacker page
    shows; without it the first hacker pages of each worker wait seconds for the totals."""
    dojo = app.state.dojo
    assert isinstance(dojo, WebDojo)
    dojo.board(None, DEFAULT_DAYS, limit=0)
    dojo.board(None, 0, limit=0)


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
