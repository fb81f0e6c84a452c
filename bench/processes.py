"""The benches' background processes: quiet, in a session of their own, always stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path


def start(
    command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(
    process: subprocess.Popen[bytes], how: signal.Signals = signal.SIGKILL, grace: float = 10
) -> None:
    """`how` to its whole group, then SIGKILL if it is still there after `grace` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, how)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextlib.contextmanager
def running(
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    how: signal.Signals = signal.SIGTERM,
    grace: float = 20,
) -> Iterator[subprocess.Popen[bytes]]:
    """The process for the `with` block; stopped (`how`, then SIGKILL) however it ends."""
    process = start(command, env, cwd)
    try:
        yield process
    finally:
        stop(process, how, grace)
