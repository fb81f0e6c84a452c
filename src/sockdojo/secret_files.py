"""Random secrets kept in the data directory, readable by their owner only."""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

from sockdojo.config import make_private_directory
from sockdojo.errors import MachineProblem
from sockdojo.machine_faults import from_os_error

_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS}


def load_or_create_hex_secret(path: Path, size: int, *, damaged_consequence: str) -> str:
    """The hex secret in `path`, created with `size` random bytes (mode 0600) on first use.

    Raises `MachineProblem` when the disk is full, the directory cannot be written, or the
    file is damaged.
    """
    make_private_directory(path.parent)
    try:
        if not path.exists():
            _publish(path, secrets.token_hex(size) + "\n")
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            # A secret others can read is no secret: tighten it rather than trust it.
            os.chmod(path, 0o600)
        text = path.read_text().strip()
    except OSError as error:
        problem = from_os_error(error, path.parent)
        if problem is None:
            raise
        raise problem from None
    try:
        valid = len(bytes.fromhex(text)) >= 16
    except ValueError:
        valid = False
    if not valid:
        raise MachineProblem(
            f"{path} is damaged: delete it to make a new one ({damaged_consequence})."
        )
    return text


def _publish(path: Path, text: str) -> None:
    """Put `text` at `path` whole, unless another process got there first.

    The secret is written to a file of its own first and then linked into place, which fails
    when `path` exists: a process starting at the same time as another never reads a file
    the other has created but not yet written (with O_EXCL on `path` itself, it read an empty
    secret and called it damaged), and both end up with the same secret. A half-written file
    (disk full) is never linked.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # the other process's secret is the one
        except OSError as error:
            if error.errno not in _NO_HARD_LINKS:
                raise
            # A file system without hard links (FAT, some network shares): a rename is
            # still atomic, only a simultaneous first start may then replace the other's.
            if not path.exists():
                os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
