"""Errors of ours end in one sentence and their exit status, never a traceback."""

from __future__ import annotations

import pytest

from sockdojo.cli import main as cli_main
from sockdojo.errors import InternalError, MachineProblem


def _raising(error: BaseException) -> object:
    def callback(*_args: object, **_kwargs: object) -> None:
        raise error

    return callback


@pytest.mark.parametrize(
    ("error", "status", "words"),
    [
        (MachineProblem("The disk is full."), 2, "The disk is full."),
        (RuntimeError("boom"), 3, "This is a bug in sockdojo"),
        (InternalError("ours"), 3, "ours"),
    ],
)
def test_errors_become_a_sentence_and_a_status(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: BaseException,
    status: int,
    words: str,
) -> None:
    monkeypatch.setattr(cli_main.show, "callback", _raising(error))
    monkeypatch.setattr("sys.argv", ["sockdojo", "show", "client"])
    with pytest.raises(SystemExit) as stop:
        cli_main.main()
    assert stop.value.code == status
    err = capsys.readouterr().err
    assert words in err
    assert "Traceback" not in err
    if isinstance(error, RuntimeError):
        assert "RuntimeError: boom" in err
