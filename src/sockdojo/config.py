"""Where sockdojo keeps its data, and the few settings a user can change.

Everything is resolved lazily from the environment so that `sockdojo --help` stays fast and
tests can point each process at its own throw-away directory with `SOCKDOJO_HOME`.
"""

from __future__ import annotations

import getpass
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from sockdojo.machine_faults import from_os_error

_ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
# The same rule in words, for every place that tells a person what a name may be.
ACCOUNT_NAME_RULE = "1 to 32 letters, digits, '.', '_' or '-', starting with a letter or a digit"


def data_home() -> Path:
    """The data directory: `SOCKDOJO_HOME`, else the platform's user data directory."""
    override = os.environ.get("SOCKDOJO_HOME")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_path  # imported here: only commands that store need it

    return user_data_path("sockdojo", appauthor=False)


def make_private_directory(path: Path, *, tighten: bool = True) -> None:
    """Create `path` (and its parents) for our data, readable by its owner only (0700).

    The data directory holds the flag secret, the session key and the database with every
    password hash: under the usual umask 022 another local user could read all of them. With
    `tighten`, one that exists already is made 0700 too, but only when it is ours and not a
    shared directory (sticky, like /tmp): SOCKDOJO_HOME=/tmp must not take /tmp away from
    everybody else.
    """
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not tighten:
            return
        found = path.stat()
        if (
            stat.S_IMODE(found.st_mode) & 0o077
            and not found.st_mode & stat.S_ISVTX
            and found.st_uid == _our_uid()
        ):
            os.chmod(path, stat.S_IMODE(found.st_mode) & 0o700)
    except OSError as error:
        problem = from_os_error(error, path)
        if problem is None:
            raise
        raise problem from None


def _our_uid() -> int:
    # Windows has no uids (and no modes to speak of): there every directory counts as ours.
    return os.geteuid() if hasattr(os, "geteuid") else 0


def database_url(home: Path) -> str:
    return os.environ.get("SOCKDOJO_DATABASE_URL") or f"sqlite:///{home / 'sockdojo.db'}"


def flag_prefix() -> str:
    # Imported here: the flags package reads its secret through secret_files, which imports
    # this module.
    from sockdojo.flags.authority import DEFAULT_PREFIX

    prefix = os.environ.get("SOCKDOJO_FLAG_PREFIX", DEFAULT_PREFIX)
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,31}", prefix):
        raise ValueError(f"SOCKDOJO_FLAG_PREFIX must be letters, digits or _, got {prefix!r}")
    return prefix


def valid_account_name(name: str) -> bool:
    return bool(_ACCOUNT_NAME.fullmatch(name))


def default_account_name() -> str:
    """The local account the CLI acts as when neither --account nor SOCKDOJO_ACCOUNT is given."""
    env = os.environ.get("SOCKDOJO_ACCOUNT")
    if env:
        return env
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "learner"
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", user)[:32] or "learner"
    return cleaned if valid_account_name(cleaned) else "learner"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    flag_prefix: str

    @classmethod
    def from_environment(cls) -> Settings:
        home = data_home()
        return cls(home=home, database_url=database_url(home), flag_prefix=flag_prefix())
