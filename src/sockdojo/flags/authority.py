"""Minting and checking flags.

A flag is `<prefix>{<token>}` where the token is URL-safe base64 of 24 bytes:
version (1) | challenge number (2) | account id (5) | HMAC-SHA256 tag truncated to 16 bytes.
The account and challenge travel inside the flag so that a wrong flag can be told apart
precisely ("not yours", "not for this challenge") without a lookup; the tag makes them
unforgeable. Nothing is stored, so verification is stateless.

The challenges only mint, through `FlagAuthority`, so a laptop in class mode or a pwn.college
workspace hands out flags it cannot make itself; checking is `HmacFlagAuthority.check`, where
the secret is (the learner's own dojo, or the class server).
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import re
import struct
from dataclasses import dataclass
from typing import Protocol

VERSION = 1
TAG_BYTES = 16
_LAYOUT = struct.Struct(">BH5s")  # version, challenge number, account id (40-bit big-endian)
TOKEN_BYTES = _LAYOUT.size + TAG_BYTES  # 24
TOKEN_CHARS = -(-TOKEN_BYTES * 4 // 3)  # its length in base64 without padding: 32
_DOMAIN = b"sockdojo-flag-v1\x00"
_TOKEN_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")
_MAX_ACCOUNT = 2**40 - 1


class FlagProblem(enum.Enum):
    NOT_A_FLAG = "not_a_flag"  # malformed or made up
    OTHER_DOJO = "other_dojo"  # well formed, but signed with another secret (another install)
    TRUNCATED = "truncated"  # the start of a real-looking flag, cut short
    NOT_YOURS = "not_yours"  # genuine, minted for another account
    WRONG_CHALLENGE = "wrong_challenge"  # genuine and yours, but for another challenge
    UNKNOWN_CHALLENGE = "unknown_challenge"  # genuine, for a challenge this dojo no longer has


@dataclass(frozen=True)
class FlagCheck:
    """The outcome of checking a submitted flag. `problem is None` means it is correct."""

    problem: FlagProblem | None
    challenge_number: int | None = None
    account_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


class FlagAuthority(Protocol):
    """Who mints the flag a passed run hands out: `HmacFlagAuthority` with the local secret
    (one learner alone, and the class server, which also checks), `cli.remote`'s
    `RemoteFlagAuthority` (a logged-in laptop asks the class server) and `export.file_flag`'s
    `FileFlagAuthority` (the file pwn.college wrote)."""

    @property
    def prefix(self) -> str:
        """What comes before `{` in the flags it mints."""
        ...

    def mint(self, account_id: int, challenge_number: int) -> str: ...


def clean_submission(submitted: str) -> str:
    """Strip what learners paste around a flag: whitespace, newlines, quotes, b'…' wrappers."""
    text = submitted.strip()
    for _ in range(3):
        if len(text) >= 3 and text[0] == "b" and text[1] in "'\"" and text[-1] == text[1]:
            text = text[2:-1]
        elif len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"`":
            text = text[1:-1]
        text = text.strip()
        text = text.removesuffix("\\n").strip()
    return text


# What comes before `{` in a flag unless the host chose another (SOCKDOJO_FLAG_PREFIX).
DEFAULT_PREFIX = "sockdojo"


class HmacFlagAuthority:
    def __init__(self, secret: bytes, prefix: str = DEFAULT_PREFIX) -> None:
        if len(secret) < 16:
            raise ValueError("the flag secret must be at least 16 bytes")
        self._secret = secret
        self.prefix = prefix

    def _tag(self, header: bytes) -> bytes:
        return hmac.new(self._secret, _DOMAIN + header, hashlib.sha256).digest()[:TAG_BYTES]

    def mint(self, account_id: int, challenge_number: int) -> str:
        if not 0 <= account_id <= _MAX_ACCOUNT:
            raise ValueError(f"account id out of range: {account_id}")
        if not 0 <= challenge_number < 2**16:
            raise ValueError(f"challenge number out of range: {challenge_number}")
        header = _LAYOUT.pack(VERSION, challenge_number, account_id.to_bytes(5, "big"))
        token = base64.urlsafe_b64encode(header + self._tag(header)).decode().rstrip("=")
        return f"{self.prefix}{{{token}}}"

    def check(
        self,
        submitted: str,
        account_id: int,
        known_challenges: frozenset[int],
        expected_challenge: int | None = None,
    ) -> FlagCheck:
        text = clean_submission(submitted)
        opening = self.prefix + "{"
        if not text.startswith(opening):
            # A learner who printed only part of the prefix still deserves the truncation hint.
            if text and opening.startswith(text) and len(text) >= 3:
                return FlagCheck(FlagProblem.TRUNCATED)
            return FlagCheck(FlagProblem.NOT_A_FLAG)
        body = text[len(opening) :]
        closed = body.endswith("}")
        token = body[:-1] if closed else body
        if not _TOKEN_ALPHABET.fullmatch(token):
            return FlagCheck(FlagProblem.NOT_A_FLAG)
        if not closed and len(token) <= TOKEN_CHARS:
            # The start of a flag: the learner's program stopped reading too early.
            return FlagCheck(FlagProblem.TRUNCATED)
        if not closed or len(token) != TOKEN_CHARS:
            return FlagCheck(FlagProblem.NOT_A_FLAG)
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            return FlagCheck(FlagProblem.NOT_A_FLAG)
        header, tag = raw[: _LAYOUT.size], raw[_LAYOUT.size :]
        version, challenge, account_raw = _LAYOUT.unpack(header)
        if version != VERSION:
            return FlagCheck(FlagProblem.NOT_A_FLAG)
        if not hmac.compare_digest(tag, self._tag(header)):
            # Our layout and prefix, another secret: most likely minted by another sockdojo (a
            # learner's own machine against a class server). Nothing inside it is trusted.
            return FlagCheck(FlagProblem.OTHER_DOJO)
        owner = int.from_bytes(account_raw, "big")
        if owner != account_id:
            return FlagCheck(FlagProblem.NOT_YOURS, challenge, owner)
        if challenge not in known_challenges:
            return FlagCheck(FlagProblem.UNKNOWN_CHALLENGE, challenge, owner)
        if expected_challenge is not None and challenge != expected_challenge:
            return FlagCheck(FlagProblem.WRONG_CHALLENGE, challenge, owner)
        return FlagCheck(None, challenge, owner)
