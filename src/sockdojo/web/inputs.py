"""What a request's fields must be before the store sees them (a 400 otherwise)."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException

from sockdojo.scoreboard.model import DEFAULT_DAYS, WINDOWS


def parse_json(body: bytes) -> object:
    """A request's JSON body, or a 400: malformed, or nested so deep that the parser gives up
    (RecursionError, a thousand levels: an 8 KiB body holds four thousand)."""
    try:
        payload: object = json.loads(body)
    except (ValueError, RecursionError):
        raise HTTPException(400, "The body is not valid JSON.") from None
    return payload


def check_text(value: str, what: str) -> str:
    """`value`, if a database can store it as text: no NUL (PostgreSQL refuses it) and no lone
    surrogate (JSON's "\\ud800" decodes to one; no database can encode it). Otherwise 400."""
    if "\x00" in value:
        raise HTTPException(400, f"The {what} holds a NUL character: remove it.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise HTTPException(400, f"The {what} holds a character that is not text.") from None
    return value


def parse_days(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_DAYS
    if raw.isdigit() and int(raw) in WINDOWS:
        return int(raw)
    raise HTTPException(400, "days must be 30, 7 or 0 (all time).")
