"""The flag a platform wrote into a file (`/flag` on pwn.college): read it, never judge it.

The platform mints and verifies its own flags (one per learner and challenge, in its own
format), so the file's content is handed out as it is, without its line ending. Standard library
only: vendored into the exported challenges.
"""

from __future__ import annotations

from pathlib import Path

from sockdojo.errors import MachineProblem
from sockdojo.net.protocol import prefix_of

# A flag is a line; a file far larger than that is not one we should send to a client.
MAX_FLAG_BYTES = 4096


class FileFlagAuthority:
    """Hands out the flag in `path`. Read once, on first use (as root, before we drop to the
    learner: the file is root's, mode 0400)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._flag: str | None = None

    def mint(self, account_id: int = 0, challenge_number: int = 0) -> str:
        """The platform's flag, as `FlagAuthority` mints: the platform made it for this
        learner and this challenge already, so neither number is needed."""
        if self._flag is None:
            self._flag = self._read()
        return self._flag

    @property
    def prefix(self) -> str:
        """What comes before `{` in the flag: our transcripts blank out anything so shaped."""
        return prefix_of(self.mint())

    def flag_line(self) -> bytes:
        """The flag as our challenges put it on the wire: one line."""
        return (self.mint() + "\n").encode("utf-8", "surrogateescape")

    def _read(self) -> str:
        try:
            with self.path.open("rb") as f:
                data = f.read(MAX_FLAG_BYTES + 1)
        except OSError as error:
            raise MachineProblem(
                f"Cannot read the flag file {self.path}: this workspace was not set up as the "
                "platform sets up a challenge (run it as /challenge/run).",
                detail=error.strerror or str(error),
            ) from None
        text = data.decode("utf-8", "surrogateescape").strip()
        if not text or len(data) > MAX_FLAG_BYTES:
            raise MachineProblem(
                f"The flag file {self.path} is {'empty' if not text else 'far too large'}: "
                "restart the challenge so that the platform writes it again."
            )
        return text
