"""The one connect-with-retry helper behind every checker.

A learner's server may still be starting (or restarting, in a shell loop) when we connect, so a
refused connection is retried briefly; everything else about the attempt is reported precisely
so the checker can explain it.
"""

from __future__ import annotations

import errno
import socket
import time
from dataclasses import dataclass


@dataclass
class ConnectFailure(Exception):
    kind: str  # "refused", "timeout", "unreachable" or "error"
    attempts: int
    seconds: float
    detail: str

    def __str__(self) -> str:
        return (
            f"{self.kind} after {self.attempts} attempt(s) in {self.seconds:.2f} s: {self.detail}"
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
) -> socket.socket:
    """Connect over TCP, retrying refusals for up to `window` seconds (and `max_attempts`)."""
    start = time.monotonic()
    attempts = 0
    while True:
        attempts += 1
        try:
            sock = socket.create_connection((host, port), timeout=attempt_timeout)
        except ConnectionRefusedError as error:
            elapsed = time.monotonic() - start
            if elapsed + interval > window or attempts >= max_attempts:
                raise ConnectFailure("refused", attempts, elapsed, str(error)) from None
            time.sleep(interval)
            interval = min(interval * 1.5, 0.2)
        except TimeoutError as error:
            elapsed = time.monotonic() - start
            raise ConnectFailure("timeout", attempts, elapsed, str(error) or "timed out") from None
        except OSError as error:
            elapsed = time.monotonic() - start
            kind = (
                "unreachable"
                if error.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL)
                else "error"
            )
            raise ConnectFailure(kind, attempts, elapsed, str(error)) from None
        else:
            sock.settimeout(attempt_timeout)
            if stats is not None:
                stats.attempts = attempts
                stats.seconds = time.monotonic() - start
            return sock
