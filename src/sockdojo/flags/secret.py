"""The flag secret: 32 random bytes in a file only its owner can read."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_BYTES = 32
SECRET_FILE = "flag-secret"  # noqa: S105 - a file name, not a secret


def load_or_create_secret(home: Path) -> bytes:
    """Read the secret from `home`, creating it (mode 0600) on first use.

    The file is created with O_EXCL so two processes starting at once cannot end up with
    different secrets: the loser of the race simply reads the winner's file.
    """
    home.mkdir(parents=True, exist_ok=True)
    path = home / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(SECRET_BYTES).hex().encode() + b"\n")
    if path.stat().st_mode & 0o077:
        # A secret others can read lets them mint everybody's flags: tighten it, never trust it.
        os.chmod(path, 0o600)
    text = path.read_text().strip()
    try:
        value = bytes.fromhex(text)
    except ValueError:
        value = b""
    if len(value) < 16:
        raise RuntimeError(
            f"{path} is damaged: delete it to make a new one (old flags stop working)"
        )
    return value
