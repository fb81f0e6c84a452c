"""Choosing between the class server and the local dojo, and reporting runs to the server.

`main.py` asks here where a command acts: the class server when logged in (and not
`--local`), else the embedded local dojo as before. Imports nothing heavy at module level: a
local run that notes its diagnoses here must not pay for the HTTP client.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, cast

import click

if TYPE_CHECKING:
    from sockdojo.cli.remote import ClassServer, RemoteDojo, RunReporter
    from sockdojo.local_dojo import LocalDojo

_reporter: RunReporter | None = None


def class_server(ctx: click.Context) -> ClassServer | None:
    """The class server this command acts on, or None for the local dojo."""
    obj = ctx.find_root().obj
    assert isinstance(obj, dict)
    if obj.get("local"):
        return None
    if "class_server" not in obj:
        from sockdojo.cli import credentials

        login = credentials.current()
        if login is None:
            obj["class_server"] = None
        else:
            from sockdojo.cli.remote import ClassServer

            obj["class_server"] = ClassServer(login)
            ctx.call_on_close(obj["class_server"].close)
    return cast("ClassServer | None", obj["class_server"])


def remote_dojo(ctx: click.Context) -> RemoteDojo | None:
    server = class_server(ctx)
    if server is None:
        return None
    from sockdojo.cli.remote import RemoteDojo

    return RemoteDojo(server)


@contextmanager
def reporting(dojo: RemoteDojo | LocalDojo, challenge_id: str) -> Iterator[None]:
    """Around a run on the class server: report its outcome when it ends, however it ends."""
    from sockdojo.cli.remote import RemoteDojo, RunReporter

    global _reporter
    if not isinstance(dojo, RemoteDojo):
        yield
        return
    reporter = RunReporter(dojo.server, challenge_id, dojo.run_key)
    _reporter = reporter
    code = 1
    try:
        yield
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        raise
    finally:
        _reporter = None
        reporter.finish(code)
        # A Ctrl-C while the report is on its way ends the wait, not the run's outcome.
        with contextlib.suppress(KeyboardInterrupt):
            reporter.wait()


def note_diagnosis(code: str) -> None:
    """A diagnosis the run showed (sent with the run report when on the class server)."""
    if _reporter is not None:
        _reporter.diagnoses.append(code)


def note_passed(passed: bool) -> None:
    """The run's outcome, when its exit status does not tell it (a served challenge)."""
    if _reporter is not None:
        _reporter.passed = passed
