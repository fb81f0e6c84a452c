"""Random secrets kept in the data directory, readable by their owner only."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def load_or_create_hex_secret(path: Path, size: int, *, damaged_consequence: str) -> str:
    """The hex secret in `path`, created with `size` random bytes (mode 0600) on first use.

    The file is created with O_EXCL so that two processes starting at once cannot end up with
    different secrets: the loser of the race simply reads the winner's file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(size) + "\n")
    if path.stat().st_mode & 0o077:
        # A secret others can read is no secret: tighten it rather than trust it.
        os.chmod(path, 0o600)
    text = path.read_text().strip()
    try:
        valid = len(bytes.fromhex(text)) >= 16
    except ValueError:
        valid = False
    if not valid:
        raise RuntimeError(
            f"{path} is damaged: delete it to make a new one ({damaged_consequence})"
        )
    return text
