"""Who is asking: the dojo a request is for and its viewer (by API token or session cookie),
looked up once per request, in the database's threads."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, TypeVarTuple

from starlette.exceptions import HTTPException
from starlette.requests import Request

from sockdojo.web.database_work import in_database
from sockdojo.web.dojo import Viewer, WebDojo
from sockdojo.web.security import BEARER_REFUSED, bearer_token, session_token

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
