"""The key that signs session cookies: random, kept in the data directory, mode 0600."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SESSION_KEY_FILE = "session-key"


def load_or_create_session_key(home: Path) -> str:
    """Read the key from `home`, creating it on first use (O_EXCL: concurrent starts agree).

    It is separate from the flag secret so that rotating one (which logs everybody out, or
    invalidates every flag) never forces rotating the other.
    """
    home.mkdir(parents=True, exist_ok=True)
    path = home / SESSION_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
    key = path.read_text().strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} is damaged: delete it to make a new one (logs everybody out)")
    return key
