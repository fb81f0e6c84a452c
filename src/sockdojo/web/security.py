"""Sessions, CSRF tokens, flash messages and the headers every response carries.

The session cookie (Starlette's SessionMiddleware: signed, HttpOnly, SameSite=Lax) holds:
- "csrf": a random token that every form and every API POST must send back;
- "sid": the token of a server-side web session (`storage.web_auth`), only when signed in;
- "flash": messages to show once, on the next page.
Login and registration throw the old contents away and start with fresh tokens, so a cookie an
attacker planted before login is worth nothing afterwards (session fixation).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sockdojo.web.middleware import HttpMiddleware

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
CSRF_REFUSED = "This form is out of date or came from another site. Reload the page and try again."


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, sent: Any) -> None:
    """Refuse (403) a state-changing request that does not carry this session's token."""
    expected = request.session.get("csrf")
    if not (
        isinstance(expected, str)
        and isinstance(sent, str)
        and hmac.compare_digest(expected.encode(), sent.encode())
    ):
        raise HTTPException(403, CSRF_REFUSED)


BEARER_REFUSED = (
    "The Authorization header must be 'Bearer <token>' with a live sockdojo token: "
    "log in again (sockdojo login URL) or create a token on your account page."
)


def bearer_token(request: Request) -> str | None:
    """The API token of a request that sends `Authorization`, None for one that does not.

    A request with the header is judged by it alone: a malformed one is refused (401) rather
    than read as a browser's, so a token never falls back to the session cookie.
    """
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 128:
        raise HTTPException(401, BEARER_REFUSED, headers={"WWW-Authenticate": "Bearer"})
    return token


def check_api_csrf(request: Request) -> None:
    """API POSTs carry the session's CSRF token, unless they sign in with a bearer token: a
    browser never adds that header by itself, so another site cannot make one."""
    if bearer_token(request) is None:
        check_csrf(request, request.headers.get(CSRF_HEADER))


def session_token(request: Request) -> str | None:
    token = request.session.get("sid")
    return token if isinstance(token, str) else None


def begin_signed_in(request: Request, token: str) -> None:
    """Replace the whole session: new web-session token, new CSRF token."""
    request.session.clear()
    request.session["sid"] = token
    request.session["csrf"] = secrets.token_urlsafe(32)


def end_session(request: Request) -> None:
    request.session.clear()
    request.session["csrf"] = secrets.token_urlsafe(32)


def flash(request: Request, kind: str, text: str) -> None:
    messages = list(request.session.get("flash", []))
    messages.append({"kind": kind, "text": text})
    request.session["flash"] = messages[-5:]


def take_flashes(request: Request) -> list[dict[str, str]]:
    if "flash" not in request.session:
        return []
    messages = request.session.pop("flash")
    return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths: `next=//evil.example` or `https://…` must not redirect away."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(ch) < 32 for ch in target)
    ):
        return default
    return target


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class SecurityHeaders(HttpMiddleware):
    """Headers that close off whole classes of attack, on every response."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
            await send(message)

        await self.app(scope, receive, send_with_headers)


BODY_LIMIT = 64 * 1024


class BodyLimit(HttpMiddleware):
    """Refuse request bodies over `limit` bytes (413): our forms and JSON are a few hundred
    bytes, and nothing should make the server buffer megabytes on a stranger's behalf."""

    def __init__(self, app: ASGIApp, limit: int = BODY_LIMIT) -> None:
        super().__init__(app)
        self.limit = limit

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            # Answered by InternalErrors, in the shape of every other refusal.
            raise HTTPException(413, "Request body too large.")
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise HTTPException(413, "Request body too large.")
            return message

        await self.app(scope, counted, send)
