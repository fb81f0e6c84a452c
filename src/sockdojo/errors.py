"""Errors of ours and of the machine, never the learner's mistake.

A learner's mistake is a `Diagnosis` (`sockdojo.mistakes`): data, shown as what we saw, why and
what to do next. Everything here is the other kind of failure: the machine would not let us do
our job (a full disk, a read-only data directory, a database we cannot read), or sockdojo itself
is wrong. Like click's exceptions, each carries the exit status the command ends with, so the
CLI turns any of them into one clear sentence and that status, never a traceback.

Standard library only: the challenge core raises these, and it is vendored into platforms that
have nothing else installed.
"""

from __future__ import annotations


class SockdojoError(Exception):
    """Base of every error of ours. `message` is one sentence a learner can act on."""

    exit_code = 3

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail  # technical detail, shown under the sentence

    def render(self) -> str:
        return self.message if self.detail is None else f"{self.message}\n  ({self.detail})"


class MachineProblem(SockdojoError):
    """The machine would not let us work: disk full, read-only or unreadable data, and so on.

    Not a bug and not the learner's mistake in the challenge: exit 2, like a usage error, since
    the learner has to change something about their set-up before running again.
    """

    exit_code = 2


class InternalError(SockdojoError):
    """sockdojo itself went wrong. Reported as ours, with the details, asking for a report."""

    exit_code = 3

    @classmethod
    def from_exception(cls, error: BaseException, *, during: str) -> InternalError:
        detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        return cls(
            f"This is a bug in sockdojo, not a problem with your program ({during}). "
            "Please report it, with `sockdojo --version` and the lines below.",
            detail=detail,
        )
