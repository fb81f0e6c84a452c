"""The key that signs session cookies: random, kept in the data directory, mode 0600."""

from __future__ import annotations

from pathlib import Path

from sockdojo.secret_files import load_or_create_hex_secret

SESSION_KEY_FILE = "session-key"


def load_or_create_session_key(home: Path) -> str:
    """Separate from the flag secret so that rotating one (which logs everybody out, or
    invalidates every flag) never forces rotating the other."""
    return load_or_create_hex_secret(
        home / SESSION_KEY_FILE, 32, damaged_consequence="logs everybody out"
    )
