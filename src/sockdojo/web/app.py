"""Building the web dojo's ASGI application."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from sockdojo.flags import FlagAuthority
from sockdojo.scoreboard import ScoreboardSource
from sockdojo.scoreboard.model import DEFAULT_DAYS
from sockdojo.storage.database import Store
from sockdojo.storage.models import utcnow
from sockdojo.web import api, pages
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
) -> Starlette:
    """The web dojo over `store`, checking flags with `authority`.

    `secret_key` signs the session cookie. `secure_cookies` marks the cookie Secure: set it
    when the dojo is served over HTTPS (behind a reverse proxy, for instance).
    """
    if len(secret_key) < 32:
        raise ValueError("the session secret key must be at least 32 characters")
    app = Starlette(
        routes=[
            *pages.ROUTES,
            *api.ROUTES,
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
        exception_handlers={HTTPException: _http_error},
    )
    app.state.dojo = WebDojo(
        store,
        authority,
        passwords=passwords,
        clock=clock,
        scoreboard=scoreboard,
        limits=limits,
    )
    app.state.templates = make_templates()
    return app


SECURE_COOKIES_ENV = "SOCKDOJO_SECURE_COOKIES"


def app_from_environment() -> Starlette:
    """The web dojo of `SOCKDOJO_HOME` and `SOCKDOJO_DATABASE_URL`, for uvicorn's worker
    processes (`sockdojo serve --workers N` names this factory by its import string).

    Each process has its own live scoreboard; each one catches up with the database on every
    request, so all of them give the same, exact boards.
    """
    import os

    from sockdojo.config import Settings
    from sockdojo.flags import HmacFlagAuthority, load_or_create_secret
    from sockdojo.web.keys import load_or_create_session_key

    settings = Settings.from_environment()
    app = create_app(
        Store(settings.database_url),
        HmacFlagAuthority(load_or_create_secret(settings.home), settings.flag_prefix),
        secret_key=load_or_create_session_key(settings.home),
        secure_cookies=os.environ.get(SECURE_COOKIES_ENV) == "1",
    )
    warm_up(app)
    return app


def warm_up(app: Starlette) -> None:
    """Load the scoreboard before the first request rather than during it."""
    dojo = app.state.dojo
    assert isinstance(dojo, WebDojo)
    dojo.board(None, DEFAULT_DAYS, limit=0)
