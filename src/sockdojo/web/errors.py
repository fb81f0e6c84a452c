"""Every refusal and failure in one shape: `api_shapes.Error` under the API, a page elsewhere.

Also what Starlette's own error handling leaves out: an exception in a handler became a bare
"Internal Server Error" without the security headers (Starlette answers it outside every
middleware); here it is answered inside them, and logged.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import Message, Receive, Scope, Send

from sockdojo.errors import MachineProblem
from sockdojo.web.api_routes import error_answer, is_api_path
from sockdojo.web.database_work import DatabaseUnavailable
from sockdojo.web.middleware import HttpMiddleware
from sockdojo.web.rendering import render

ERROR_TITLES = {
    400: "That request does not make sense",
    401: "Log in first",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    413: "Too large",
    415: "Wrong kind of data",
    429: "Slow down",
    500: "Something went wrong on our side",
    503: "The dojo cannot reach its database",
}
DATABASE_RETRY_SECONDS = 5

logger = logging.getLogger("uvicorn.error")


async def error_response(
    request: Request,
    status: int,
    message: str,
    *,
    headers: dict[str, str] | None = None,
    look_up_viewer: bool = True,
) -> Response:
    """The answer to a refused or failed request. `look_up_viewer=False` for answers that must
    not touch the database (it may be what failed)."""
    if is_api_path(request.url.path):
        return error_answer(message, status, headers)
    return await render(
        request,
        "error.html",
        {"title": ERROR_TITLES.get(status, "Something went wrong"), "message": message},
        status_code=status,
        headers=headers,
        look_up_viewer=look_up_viewer,
    )


async def http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 401 and request.method == "GET" and not is_api_path(request.url.path):
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    return await error_response(
        request, error.status_code, str(error.detail), headers=dict(error.headers or {})
    )


async def database_unavailable(request: Request, error: Exception) -> Response:
    assert isinstance(error, DatabaseUnavailable)
    logger.warning("Answered 503 to %s: %s", request.url.path, error.render())
    return await error_response(
        request,
        503,
        "The dojo's database did not answer in time. Try again in a moment.",
        headers={"Retry-After": str(DATABASE_RETRY_SECONDS)},
        look_up_viewer=False,
    )


UNAVAILABLE = "The dojo cannot save or read anything right now; its operator has been told."


async def machine_problem(request: Request, error: Exception) -> Response:
    """The machine stopped the dojo (its database file deleted, its disk full): a 503.

    The sentence, which names the server's files, goes to the operator's console; the visitor
    gets our error shape, made without the database (which just failed).
    """
    assert isinstance(error, MachineProblem)
    logger.error("%s %s: %s", request.method, request.url.path, error)
    return await error_response(
        request,
        503,
        UNAVAILABLE,
        headers={"Retry-After": str(DATABASE_RETRY_SECONDS)},
        look_up_viewer=False,
    )


class InternalErrors(HttpMiddleware):
    """Answer an exception that escaped every handler with our 500, inside the middleware that
    adds the security headers, and log it; a refusal raised by a middleware (an HTTPException)
    as the router would. Nothing is answered twice."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def noting_start(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, noting_start)
        except HTTPException as refusal:
            # Raised outside the router (BodyLimit): answered as the router would.
            if started:
                raise
            response = await http_error(Request(scope, receive), refusal)
            await response(scope, receive, send)
        except Exception:
            logger.exception("Error in %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            request = Request(scope, receive)
            response = await error_response(
                request,
                500,
                "That went wrong on our side, not yours. Try again; if it keeps failing, "
                "tell the dojo's host.",
                look_up_viewer=False,
            )
            await response(scope, receive, send)
