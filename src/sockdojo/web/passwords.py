"""Password hashing with Argon2id, and the rules a password must follow."""

from __future__ import annotations

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


class Passwords:
    """Hash and verify passwords; tests pass a cheap hasher, everything else the default."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()

    @cached_property
    def _decoy(self) -> str:
        return self.hasher.hash("not a real password: only here to spend time")

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Check a password. Unknown accounts cost as much time as known ones, so timing does
        not tell which names exist."""
        if len(password) > MAX_LENGTH:
            return False
        try:
            return self.hasher.verify(password_hash or self._decoy, password) and bool(
                password_hash
            )
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self.hasher.check_needs_rehash(password_hash)


def fast_passwords() -> Passwords:
    """Argon2id with the smallest costs: for tests only, where hundreds of hashes add up."""
    return Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
