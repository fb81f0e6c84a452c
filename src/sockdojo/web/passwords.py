"""Password hashing with Argon2id, and the rules a password must follow."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8
# Argon2 hashes the whole input: a cap keeps a megabyte "password" from costing CPU time.
MAX_LENGTH = 256


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None when it is fine."""
    if len(password) < MIN_LENGTH:
        return f"Choose a password of at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Choose a password of at most {MAX_LENGTH} characters."
    return None


# The longest a hash waits for its turn before it is refused.
WAIT_SECONDS = 5.0


class PasswordsBusy(Exception):
    """Every password slot is taken and the queue is full: refuse rather than wait."""


def default_slots() -> int:
    """Hashes at once in one process: half the cores, so that pages keep the other half."""
    return max(1, (os.cpu_count() or 2) // 2)


class Passwords:
    """Hash and verify passwords; tests pass a cheap hasher, everything else the default.

    Argon2 is slow on purpose (tens of milliseconds of CPU and 64 MiB each): a burst of logins
    run all at once took every worker thread and every core, and the scoreboard waited 11 s.
    So at most `slots` hashes run at once, at most `queue` more wait for a slot (for `wait`
    seconds at most), and any beyond are refused at once (PasswordsBusy) without taking a
    thread for long.
    """

    def __init__(
        self,
        hasher: PasswordHasher | None = None,
        *,
        slots: int | None = None,
        queue: int = 8,
        wait: float = WAIT_SECONDS,
    ) -> None:
        self.hasher = hasher or PasswordHasher()
        self.slots = slots or default_slots()
        self.queue = queue
        self.wait = wait
        self._running = threading.BoundedSemaphore(self.slots)
        self._admitted = threading.BoundedSemaphore(self.slots + queue)

    @contextmanager
    def _turn(self) -> Iterator[None]:
        if not self._admitted.acquire(blocking=False):
            raise PasswordsBusy
        try:
            # Bounded too: on a machine so loaded that the queue does not move, refuse.
            if not self._running.acquire(timeout=self.wait):
                raise PasswordsBusy
            try:
                yield
            finally:
                self._running.release()
        finally:
            self._admitted.release()

    @cached_property
    def _decoy(self) -> str:
        return self.hasher.hash("not a real password: only here to spend time")

    def hash(self, password: str) -> str:
        with self._turn():
            return self.hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Check a password. Unknown accounts cost as much time as known ones, so timing does
        not tell which names exist."""
        if len(password) > MAX_LENGTH:
            return False
        decoy = self._decoy if password_hash is None else ""
        try:
            with self._turn():
                return self.hasher.verify(password_hash or decoy, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self.hasher.check_needs_rehash(password_hash)


def fast_passwords() -> Passwords:
    """Argon2id with the smallest costs: for tests only, where hundreds of hashes add up."""
    return Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
