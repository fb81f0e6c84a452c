"""The `sockdojo` command. Heavy modules are imported inside commands so `--help` is instant."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from typing import TYPE_CHECKING

import click

from sockdojo import __version__
from sockdojo.challenges import registry
from sockdojo.challenges.dispatch import DEFAULT_HOST, DEFAULT_PORT, HIGHEST_PORT, LOWEST_PORT
from sockdojo.cli.ui import paint, say, say_json, say_shape
from sockdojo.config import ACCOUNT_NAME_RULE, default_account_name, valid_account_name

if TYPE_CHECKING:
    from sockdojo.challenges.run_output import RunOutput
    from sockdojo.cli.remote import RemoteDojo, RemoteOutcome
    from sockdojo.errors import SockdojoError
    from sockdojo.local_dojo import LocalDojo
    from sockdojo.net.protocol import FlagSource
    from sockdojo.submissions import SubmitOutcome

    FlagDojo = LocalDojo | RemoteDojo

CHALLENGE_IDS = [challenge.id for challenge in registry.CHALLENGES]


def _dojo(ctx: click.Context) -> LocalDojo:
    from sockdojo.config import Settings
    from sockdojo.local_dojo import LocalDojo

    obj = ctx.find_root().obj
    assert isinstance(obj, dict)
    if "dojo" not in obj:
        try:
            settings = Settings.from_environment()
        except ValueError as error:
            raise click.UsageError(str(error)) from None
        obj["dojo"] = LocalDojo(settings, obj["account"])
    dojo = obj["dojo"]
    assert isinstance(dojo, LocalDojo)
    return dojo


def _challenge(challenge_id: str) -> registry.Challenge:
    challenge = registry.get(challenge_id)
    if challenge is None:
        raise click.BadParameter(
            f"no challenge {challenge_id!r}; choose one of: {', '.join(CHALLENGE_IDS)}",
            param_hint="CHALLENGE",
        )
    return challenge


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--account",
    metavar="NAME",
    envvar="SOCKDOJO_ACCOUNT",
    help="The account to act as (default: your user name; created on first use).",
)
@click.option(
    "--local",
    is_flag=True,
    envvar="SOCKDOJO_LOCAL",
    help="Use the local dojo on this computer even when logged in to a class server.",
)
@click.version_option(__version__, prog_name="sockdojo")
@click.pass_context
def cli(ctx: click.Context, account: str | None, local: bool) -> None:
    """sockdojo: learn network programming with Python sockets.

    \b
    Start with `sockdojo list`, read a challenge with `sockdojo show client`,
    run it with `sockdojo run client`, and submit the flag you get with
    `sockdojo submit 'sockdojo{...}'`.
    """
    name = account or default_account_name()
    if not valid_account_name(name):
        raise click.BadParameter(
            f"use {ACCOUNT_NAME_RULE}",
            param_hint="--account",
        )
    ctx.obj = {"account": name, "local": local}
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_challenges, as_json=False)


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_challenges(ctx: click.Context, as_json: bool) -> None:
    """The module's challenges and which ones you have solved."""
    from sockdojo.cli.class_mode import class_server

    server = class_server(ctx)
    if server is not None:
        account_name, solved = server.whoami(), server.solved()
    else:
        from sockdojo.storage.solves import solved_challenges

        dojo = _dojo(ctx)
        with dojo.store.session() as session:
            solved = solved_challenges(session, dojo.account.id, registry.MODULE_ID)
        account_name = dojo.account.name
    upcoming = next((c for c in registry.CHALLENGES if c.id not in solved), None)
    if as_json:
        say_json(
            {
                "module": registry.MODULE_ID,
                "account": account_name,
                "challenges": [
                    {
                        "id": c.id,
                        "title": c.title,
                        "summary": c.summary,
                        "run": c.run_usage,
                        "solved": c.id in solved,
                        "solved_at": solved[c.id].isoformat() if c.id in solved else None,
                    }
                    for c in registry.CHALLENGES
                ],
                "next": upcoming.id if upcoming else None,
            }
        )
        return
    say(
        paint(f"{registry.MODULE_TITLE}", "cyan", bold=True)
        + f"  {len(solved)} of {len(registry.CHALLENGES)} solved (account: {account_name})"
    )
    say()
    for c in registry.CHALLENGES:
        mark = paint("[x]", "green") if c.id in solved else "[ ]"
        say(f"  {mark} {c.number}. {c.id:<14} {c.title}")
        say(f"         {c.summary}")
    say()
    if upcoming is None:
        say(paint("You solved every challenge in this module. Well done!", "green"))
    else:
        say(f"Next: read it with `sockdojo show {upcoming.id}`, then `{upcoming.run_usage}`.")


@cli.command("show")
@click.argument("challenge_id", metavar="CHALLENGE")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(challenge_id: str, as_json: bool) -> None:
    """Read a challenge's description."""
    challenge = _challenge(challenge_id)
    if as_json:
        say_json(
            {
                "id": challenge.id,
                "number": challenge.number,
                "title": challenge.title,
                "summary": challenge.summary,
                "run": challenge.run_usage,
                "description": challenge.description,
            }
        )
        return
    say(paint(f"{challenge.number}. {challenge.title}", "cyan", bold=True))
    say()
    say(challenge.description.rstrip())
    say()
    say(f"Run it with: {challenge.run_usage}")


@cli.command("submit")
@click.argument("flag")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def submit(ctx: click.Context, flag: str, as_json: bool) -> None:
    """Submit a flag. Exit 0 when it is correct (also when already solved)."""
    from sockdojo.cli.class_mode import class_server

    server = class_server(ctx)
    if server is not None:
        outcome: SubmitOutcome | RemoteOutcome = server.submit(flag)
    else:
        from sockdojo.submissions import submit_flag

        dojo = _dojo(ctx)
        outcome = submit_flag(
            dojo.store, dojo.authority, account_id=dojo.account.id, submitted=flag, source="cli"
        )
    if as_json:
        from sockdojo.api_shapes import judged_of

        say_shape(judged_of(outcome))
    elif outcome.correct:
        say(paint(outcome.message, "green", bold=True))  # it says "Correct" in its own words
    else:
        say(paint("Not accepted. ", "red", bold=True) + outcome.message)
    sys.exit(0 if outcome.correct else 1)


def _output() -> RunOutput:
    """How a run prints its end in this terminal (colour only on a terminal)."""
    from sockdojo.challenges.run_output import RunOutput
    from sockdojo.cli.class_mode import note_diagnosis

    return RunOutput(
        say, submit="submit it: sockdojo submit 'FLAG'", paint=paint, on_diagnosis=note_diagnosis
    )


@cli.command("run")
@click.argument("challenge_id", metavar="CHALLENGE")
@click.argument("file", required=False, type=click.Path(path_type=str))
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to use.")
@click.option(
    "--port",
    default=DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(LOWEST_PORT, HIGHEST_PORT),
    help="Port to use.",
)
@click.option("--once", is_flag=True, help="client, eight-ball: stop after giving out a flag.")
@click.option("--no-run", is_flag=True, help="reuse-address: only analyze, do not run FILE.")
@click.option("--json", "as_json", is_flag=True, help="reuse-address: print JSON.")
@click.pass_context
def run(
    ctx: click.Context,
    challenge_id: str,
    file: str | None,
    host: str,
    port: int,
    once: bool,
    no_run: bool,
    as_json: bool,
) -> None:
    """Run a challenge (what /challenge/run does on pwn.college).

    \b
    client, eight-ball   start our server; connect to it with your client
    server, server-loop  start your server first; we connect to it
    reuse-address FILE   analyze your server program and prove it restarts
    """
    from sockdojo.cli.class_mode import reporting

    challenge = _challenge(challenge_id)
    runs = challenge.runs
    assert runs is not None  # every challenge of the registry says how it runs
    _refuse_options_that_do_not_apply(ctx, challenge, runs, file)
    if runs is registry.Runs.YOUR_PROGRAM and file is None:
        raise click.UsageError(
            f"{challenge.id} needs your program: sockdojo run {challenge.id} FILE"
        )
    dojo = _flag_dojo(ctx)
    with reporting(dojo, challenge.id):
        if runs is registry.Runs.YOUR_PROGRAM:
            assert file is not None
            _run_reuse_address(dojo, file, port=port, run_proof=not no_run, as_json=as_json)
            return
        number = challenge.number

        def flag() -> bytes:
            # Minted when it is due, never before: in class mode by the class server, which
            # so only ever mints flags that a learner's program earned.
            return (dojo.authority.mint(dojo.account.id, number) + "\n").encode()

        if runs is registry.Runs.OUR_SERVER:
            _serve_challenge(challenge, flag, dojo.authority.prefix, host, port, once)
        else:
            _check_challenge(challenge, flag, dojo.authority.prefix, host, port)


def _flag_dojo(ctx: click.Context) -> FlagDojo:
    """Where `run` gets its flags: the class server when logged in (and not --local), which
    mints them for the token's account, so the laptop never holds the class secret; else
    the local dojo."""
    from sockdojo.cli.class_mode import remote_dojo

    return remote_dojo(ctx) or _dojo(ctx)


_RUN_OPTIONS = {"--host": "host", "--once": "once", "--no-run": "no_run", "--json": "as_json"}


def _refuse_options_that_do_not_apply(
    ctx: click.Context, challenge: registry.Challenge, runs: registry.Runs, file: str | None
) -> None:
    given = [
        option
        for option, name in _RUN_OPTIONS.items()
        if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
    ]
    if file is not None:
        given.insert(0, "FILE")
    wrong = [option for option in given if option not in runs.options]
    if wrong:
        takes = ", ".join(("--port", *runs.options))
        raise click.UsageError(f"{challenge.id} does not take {', '.join(wrong)}; it takes {takes}")


def _serve_challenge(
    challenge: registry.Challenge,
    flag: FlagSource,
    prefix: str,
    host: str,
    port: int,
    once: bool,
) -> None:
    from sockdojo.challenges import dispatch
    from sockdojo.challenges.serving import bind_failure, serve
    from sockdojo.cli.class_mode import note_passed
    from sockdojo.net.accept_loop import listening_socket

    output = _output()
    try:
        sock = listening_socket(host, port)
    except OSError as error:
        sys.exit(output.cannot_serve(challenge, bind_failure(host, port, error)))
    factory = dispatch.server_protocol(challenge, prefix)
    output.serving(challenge, host, port, once)
    report = serve(sock, factory, say, flag=flag, once=once, udp_hint=dispatch.udp_hint(challenge))
    note_passed(report.flags_delivered > 0)
    output.served(report)
    if report.flag_error is not None:
        raise report.flag_error  # a class server that does not answer: one sentence, exit 1


def _check_challenge(
    challenge: registry.Challenge, flag: FlagSource, prefix: str, host: str, port: int
) -> None:
    from sockdojo.challenges import dispatch
    from sockdojo.net.transcript import Transcript

    output = _output()
    output.checking(challenge, host, port)
    transcript = Transcript(echo=say)
    check = dispatch.checker(challenge)
    sys.exit(output.verdict(check(host, port, flag, prefix, transcript)))


def _run_reuse_address(
    dojo: FlagDojo, file: str, *, port: int, run_proof: bool, as_json: bool
) -> None:
    from pathlib import Path

    from sockdojo.challenges.reuse_address import run_reuse_address

    number = registry.BY_ID["reuse-address"].number
    code = run_reuse_address(
        Path(file),
        run_proof=run_proof,
        as_json=as_json,
        mint_flag=lambda: dojo.authority.mint(dojo.account.id, number),
        echo=say,
        port=port,
    )
    sys.exit(code)


# The web dojo's commands (serve, account, scoreboard) live in their own module.
from sockdojo.cli.web_commands import register as register_web_commands  # noqa: E402

register_web_commands(cli)

# Class mode: login, logout, whoami, and the class server's scoreboard when logged in.
from sockdojo.cli.login import register as register_login_commands  # noqa: E402

register_login_commands(cli)

# `sockdojo export pwncollege`: the module for other platforms.
from sockdojo.cli.export_commands import register as register_export_commands  # noqa: E402

register_export_commands(cli)


def render_help(words: tuple[str, ...]) -> str | None:
    """What `sockdojo WORDS... --help` prints, or None when WORDS is not a command path.

    The same contexts click builds when it parses `--help` (names, parents, settings), asked for
    the same text its help option echoes; `help_cache` keeps it for the next time.
    """
    command: click.Command = cli
    with ExitStack() as stack:
        ctx = stack.enter_context(cli.make_context("sockdojo", [], resilient_parsing=True))
        for word in words:
            if not isinstance(command, click.Group):
                return None
            sub = command.get_command(ctx, word)
            if sub is None:
                return None
            command = sub
            ctx = stack.enter_context(
                command.make_context(word, [], parent=ctx, resilient_parsing=True)
            )
        return ctx.get_help() + "\n"


def main() -> None:
    """Run the command; errors of ours end in one clear sentence and their exit status.

    Click handles usage errors (exit 2) and Ctrl-C itself. Anything else that escapes a
    command is ours: it is never shown as the learner's mistake, and never as a traceback.
    """
    from sockdojo.errors import InternalError, SockdojoError

    try:
        cli(prog_name="sockdojo", standalone_mode=True)
    except SockdojoError as error:
        _fail(error)
    except Exception as error:
        _fail(InternalError.from_exception(error, during="sockdojo " + " ".join(sys.argv[1:2])))


def _fail(error: SockdojoError) -> None:
    click.echo(paint("ERROR", "red", bold=True) + "  " + error.render(), err=True)
    sys.exit(error.exit_code)
