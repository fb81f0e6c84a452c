"""What a connection may cost the web dojo before it has sent a whole request.

uvicorn's httptools protocol has no cap on a request's head (request line and headers) and no
timeout before the first request or between its bytes: an endless header made the parser grow
its buffer for seconds with the event loop blocked, and idle connections stayed open until the
process ran out of descriptors. `GuardedHttpToolsProtocol` adds both, in front of the parser:

- the head is counted as bytes arrive, before the parser sees them, and a head over
  `HEAD_LIMIT` is answered 431 at once and the connection closed: the parser never holds more
  than the limit plus one read;
- a connection must deliver each request in full (head and body) within `READ_SECONDS` of
  being opened or of its last answer; otherwise it is closed (408 when it had begun a request).

uvicorn's own settings do the rest (`server_options`): the keep-alive timeout and a cap on the
connections of one worker, above which requests get a 503.
"""

from __future__ import annotations

import asyncio
import html
import logging
import resource
import time
from typing import Any

from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from sockdojo.net.accept_loop import raise_open_file_limit
from sockdojo.web.api_routes import encode_error, is_api_path
from sockdojo.web.security import CONTENT_SECURITY_POLICY

HEAD_LIMIT = 16 * 1024
READ_SECONDS = 10.0
START_BYTES = 64  # enough of a request line to see whether its path is under /api/
KEEP_ALIVE_SECONDS = 5  # uvicorn's default, and what gunicorn is told
CONNECTIONS_PER_WORKER = 2048
# Descriptors a worker needs besides its clients: the database, the listener, log files.
RESERVED_DESCRIPTORS = 64

logger = logging.getLogger("uvicorn.error")


class HeadMeter:
    """Counts the bytes of the head of the request being read, as they arrive.

    Pure: `feed` each chunk received before the parser sees it; it says whether the head is now
    over the limit. The head ends at the first blank line (CRLF CRLF), which may be split
    across chunks; bytes after it (the body, a pipelined request) are not counted until
    `next_request` says the parser has finished this request. A head ended by bare LFs is
    counted through to the end of the chunk: only ever more strictly.
    """

    def __init__(self, limit: int = HEAD_LIMIT) -> None:
        self.limit = limit
        self.count = 0
        self.in_head = True
        self._tail = b""
        self.start = b""  # the head's first bytes: whose request line says where it goes

    def feed(self, data: bytes) -> bool:
        if not self.in_head:
            return False
        if len(self.start) < START_BYTES:
            self.start += data[: START_BYTES - len(self.start)]
        # The last three bytes of the previous chunk may begin the blank line.
        window = self._tail + data if self._tail else data
        end = window.find(b"\r\n\r\n")
        if end < 0:
            self.count += len(data)
            self._tail = window[-3:]
        else:
            self.count += end + 4 - len(self._tail)
            self.in_head = False
            self._tail = b""
        return self.count > self.limit

    def next_request(self) -> None:
        self.count = 0
        self.in_head = True
        self._tail = b""
        self.start = b""

    @property
    def for_api(self) -> bool:
        """The request line names an API path (`GET /api/... HTTP/1.1`), as far as we read."""
        parts = self.start.split(b" ", 2)
        return len(parts) > 1 and is_api_path(parts[1].decode("latin-1"))

    @property
    def started(self) -> bool:
        return self.count > 0


class LimitLog:
    """Logs that a limit was hit, at most once a second per limit (a flood stays one line)."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self._last: dict[str, float] = {}
        self._quiet: dict[str, int] = {}

    def hit(self, limit: str, message: str) -> None:
        now = time.monotonic()
        if now - self._last.get(limit, -self.interval) < self.interval:
            self._quiet[limit] = self._quiet.get(limit, 0) + 1
            return
        more = self._quiet.pop(limit, 0)
        self._last[limit] = now
        logger.warning("%s%s", message, f" (and {more} more like it)" if more else "")


LIMITS = LimitLog()


def refusal_parts(
    status: int, reason: str, message: str, *, api: bool
) -> tuple[list[tuple[str, str]], bytes]:
    """A refusal in the web dojo's one error shape (`web/errors.py`): `api_shapes.Error` under
    the API, a small page elsewhere, with the same security headers as every other answer, and
    the connection closed after it."""
    if api:
        kind, body = "application/json", encode_error(message)
    else:
        kind = "text/html; charset=utf-8"
        body = (
            f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(reason)}"
            f"</title><h1>{html.escape(reason)}</h1><p>{html.escape(message)}</p></html>"
        ).encode()
    headers = [
        ("content-type", kind),
        ("content-length", str(len(body))),
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
        ("connection", "close"),
    ]
    return headers, body


def refusal(status: int, reason: str, message: str, *, api: bool) -> bytes:
    """The refusal as raw bytes, written before the app (or the HTTP parser) sees a request."""
    headers, body = refusal_parts(status, reason, message, api=api)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return f"HTTP/1.1 {status} {reason}\r\n{head}\r\n".encode() + body


BUSY = "The dojo is serving as many connections as it can: try again in a moment."


async def _busy(scope: Scope, receive: Receive, send: Send) -> None:
    """What a request over the connection cap gets instead of the app: a 503 of ours."""
    api = is_api_path(str(scope.get("path", "")))
    headers, body = refusal_parts(503, "Service Unavailable", BUSY, api=api)
    raw = [(name.encode(), value.encode()) for name, value in headers]
    await send({"type": "http.response.start", "status": 503, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def too_large(api: bool) -> bytes:
    return refusal(
        431,
        "Request Header Fields Too Large",
        f"The request's head is over {HEAD_LIMIT} bytes.",
        api=api,
    )


def too_slow(api: bool) -> bytes:
    return refusal(408, "Request Timeout", f"The request took over {READ_SECONDS:.0f} s.", api=api)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a cap on the head and a deadline on each request."""

    # uvicorn's own signature (a Transport, narrower than asyncio.Protocol's BaseTransport).
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # The connection cap stays uvicorn's setting, but over it uvicorn would answer a
        # plain-text 503 of its own (and log each one): we answer it (on_headers_complete).
        self._cap, self.limit_concurrency = self.limit_concurrency, None
        super().connection_made(transport)
        self._meter = HeadMeter()
        # Requests read in full, and answers completed: equal while a request is being read
        # (or awaited), so the deadline applies; ahead while the app works on one.
        self._requests = 0
        self._answers = 0
        self._deadline: asyncio.TimerHandle | None = None
        self._arm_deadline()

    def data_received(self, data: bytes) -> None:
        if self._meter.feed(data):
            client = self.client[0] if self.client else "?"
            LIMITS.hit("head", f"Refused a request head over {HEAD_LIMIT} bytes from {client}.")
            self._refuse(too_large(self._meter.for_api))
            return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        cap = self._cap
        if cap is None or (len(self.connections) < cap and len(self.tasks) < cap):
            super().on_headers_complete()
            return
        LIMITS.hit(
            "connections",
            f"Exceeded concurrency limit ({cap} connections or requests at once): answered 503.",
        )
        # uvicorn starts the request's cycle with `self.app`: this one request gets ours.
        app, self.app = self.app, _busy
        try:
            super().on_headers_complete()
        finally:
            self.app = app

    def on_message_complete(self) -> None:
        self._requests += 1
        self._meter.next_request()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        self._answers += 1
        super().on_response_complete()
        self._arm_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_deadline()
        super().connection_lost(exc)

    def _arm_deadline(self) -> None:
        self._disarm_deadline()
        if not self.transport.is_closing():
            self._deadline = self.loop.call_later(READ_SECONDS, self._deadline_passed)

    def _disarm_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _deadline_passed(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or self._requests > self._answers:
            return  # closed already, or the app is answering a request read in full
        client = self.client[0] if self.client else "?"
        LIMITS.hit(
            "read",
            f"Closed a connection from {client} that sent no whole request in "
            f"{READ_SECONDS:.0f} s.",
        )
        if self._meter.started and (self.cycle is None or not self.cycle.response_started):
            self._refuse(too_slow(self._meter.for_api))
        else:
            self.transport.close()

    def _refuse(self, response: bytes) -> None:
        if self.cycle is not None and not self.cycle.response_complete:
            # The app is still at a request on this connection: tell it the client is gone.
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.write(response)
        self.transport.close()


def connection_cap() -> int:
    """Connections one worker serves at once: the descriptors allow, up to our own cap.

    The soft limit on open files is raised to the hard one first (often 1,024 against
    hundreds of thousands): at the soft limit new connections failed with nothing logged.
    """
    raise_open_file_limit()
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(16, min(CONNECTIONS_PER_WORKER, soft - RESERVED_DESCRIPTORS))


def server_options() -> dict[str, Any]:
    """uvicorn's settings for the web dojo, the same with one process and with N workers."""
    return {
        "http": GuardedHttpToolsProtocol,
        "loop": "auto",
        "lifespan": "off",  # the app has no lifespan events
        "access_log": False,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        # Above this many open connections (or requests at work), new requests get our 503
        # (GuardedHttpToolsProtocol.on_headers_complete), logged at most once a second.
        "limit_concurrency": connection_cap(),
    }
