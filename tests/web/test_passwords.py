"""Password hashing is bounded: a burst of logins cannot take every thread and core (item 4)."""

from __future__ import annotations

import threading
import time
from typing import Literal

from argon2 import PasswordHasher

from sockdojo.web.passwords import Passwords, PasswordsBusy
from support import burst


class CountingHasher(PasswordHasher):
    """Argon2 itself, noting how many of its verifications run at the same time."""

    def __init__(self) -> None:
        # Costly enough that 40 calls released together overlap.
        super().__init__(time_cost=2, memory_cost=32 * 1024, parallelism=1)
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            return super().verify(hash, password)  # True, or it raises
        finally:
            with self.lock:
                self.running -= 1


def test_at_most_the_slots_run_and_beyond_the_queue_callers_are_refused_at_once() -> None:
    hasher = CountingHasher()
    passwords = Passwords(hasher, slots=2, queue=3)
    stored = passwords.hash("a right password")

    def attempt(_: int) -> str:
        try:
            return "right" if passwords.verify(stored, "a right password") else "wrong"
        except PasswordsBusy:
            return "busy"

    outcomes = burst(40, attempt)
    assert len(outcomes) == 40
    assert hasher.most <= 2
    assert outcomes.count("busy") > 0
    assert "wrong" not in outcomes
    # Once the burst is over, a caller gets its turn again.
    assert passwords.verify(stored, "a right password")


def test_unknown_names_cost_a_hash_too_and_long_passwords_none() -> None:
    hasher = CountingHasher()
    passwords = Passwords(hasher, slots=1, queue=0)
    assert not passwords.verify(None, "anything at all")
    assert hasher.most == 1
    assert not passwords.verify(None, "x" * 10_000)


def test_a_caller_waits_for_its_turn_only_so_long() -> None:
    hasher = CountingHasher()
    passwords = Passwords(hasher, slots=1, queue=1, wait=0.01)
    stored = passwords.hash("a right password")
    holder = threading.Thread(target=passwords.verify, args=(stored, "a right password"))
    holder.start()
    deadline = time.monotonic() + 10
    while hasher.running == 0 and holder.is_alive() and time.monotonic() < deadline:
        time.sleep(0.001)
    try:
        passwords.verify(stored, "a right password")
    except PasswordsBusy:
        refused = True
    else:
        refused = False
    holder.join(timeout=30)
    assert refused
