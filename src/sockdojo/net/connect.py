"""The one connect-with-retry helper behind every checker.

A learner's server may still be starting (or restarting, in a shell loop) when we connect, so a
refused connection is retried briefly; everything else about the attempt is reported precisely
so the checker can explain it.
"""

from __future__ import annotations

import enum
import errno
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass


class Connect(enum.Enum):
    """How a connection attempt ended (after the brief retry of refusals)."""

    CONNECTED = "connected"
    REFUSED = "refused"
    RESET = "reset"  # accepted and reset before connect() even returned
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    ERROR = "error"


@dataclass
class ConnectFailure(Exception):
    kind: Connect
    attempts: int
    seconds: float
    detail: str

    def __str__(self) -> str:
        return (
            f"{self.kind.value} after {self.attempts} attempt(s) in {self.seconds:.2f} s: "
            f"{self.detail}"
        )


@dataclass
class ConnectStats:
    """Filled in on success: how many attempts the connection took."""

    attempts: int = 0
    seconds: float = 0.0


def connect_with_retry(
    host: str,
    port: int,
    *,
    window: float = 1.0,
    interval: float = 0.02,
    attempt_timeout: float = 2.0,
    max_attempts: int = 500,
    stats: ConnectStats | None = None,
    before_each: Callable[[], None] | None = None,
) -> socket.socket:
    """Connect over TCP, retrying refusals for up to `window` seconds (and `max_attempts`).

    `before_each` runs just before every try, so a checker can see what was listening at the
    moment of the try that connected.
    """
    start = time.monotonic()
    attempts = 0
    while True:
        attempts += 1
        if before_each is not None:
            before_each()
        try:
            sock = socket.create_connection((host, port), timeout=attempt_timeout)
        except ConnectionRefusedError as error:
            elapsed = time.monotonic() - start
            if elapsed + interval > window or attempts >= max_attempts:
                raise ConnectFailure(Connect.REFUSED, attempts, elapsed, str(error)) from None
            time.sleep(interval)
            interval = min(interval * 1.5, 0.2)
        except ConnectionResetError as error:
            elapsed = time.monotonic() - start
            raise ConnectFailure(Connect.RESET, attempts, elapsed, str(error)) from None
        except TimeoutError as error:
            elapsed = time.monotonic() - start
            raise ConnectFailure(
                Connect.TIMEOUT, attempts, elapsed, str(error) or "timed out"
            ) from None
        except OSError as error:
            elapsed = time.monotonic() - start
            kind = (
                Connect.UNREACHABLE
                if error.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL)
                else Connect.ERROR
            )
            raise ConnectFailure(kind, attempts, elapsed, str(error)) from None
        else:
            sock.settimeout(attempt_timeout)
            if stats is not None:
                stats.attempts = attempts
                stats.seconds = time.monotonic() - start
            return sock
