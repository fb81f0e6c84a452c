"""The flag secret: 32 random bytes in a file only its owner can read."""

from __future__ import annotations

from pathlib import Path

from sockdojo.secret_files import load_or_create_hex_secret

SECRET_BYTES = 32
SECRET_FILE = "flag-secret"  # noqa: S105 - a file name, not a secret


def load_or_create_secret(home: Path) -> bytes:
    """Read the secret from `home`, creating it on first use. Whoever can read it can mint
    every account's flags, so it never leaves the data directory."""
    text = load_or_create_hex_secret(
        home / SECRET_FILE, SECRET_BYTES, damaged_consequence="old flags stop working"
    )
    return bytes.fromhex(text)
