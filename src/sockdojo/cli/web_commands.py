"""`sockdojo serve`, `sockdojo account …` and `sockdojo scoreboard`: the web dojo's commands.

Everything heavy (Starlette, uvicorn, Argon2, SQLAlchemy) is imported inside the commands so
that `sockdojo --help` stays instant.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from sockdojo.cli.ui import paint, say, say_json, say_shape
from sockdojo.config import ACCOUNT_NAME_RULE, valid_account_name
from sockdojo.scoreboard.model import DEFAULT_DAYS, DEFAULT_LIMIT, WINDOWS

if TYPE_CHECKING:
    from sockdojo.api_shapes import Scoreboard
    from sockdojo.config import Settings
    from sockdojo.storage.database import Store
    from sockdojo.web.passwords import Passwords

WEB_EXTRA_MISSING = (
    "the web dojo needs extra packages: pip install 'sockdojo[web]' (./scripts/run does it)"
)


def _settings() -> Settings:
    from sockdojo.config import Settings

    try:
        return Settings.from_environment()
    except ValueError as error:
        raise click.UsageError(str(error)) from None


def _store() -> Store:
    from sockdojo.storage.database import Store

    return Store(_settings().database_url)


def _passwords() -> Passwords:
    try:
        from sockdojo.web.passwords import Passwords
    except ImportError:
        raise click.ClickException(WEB_EXTRA_MISSING) from None
    return Passwords()


def _read_password(from_stdin: bool) -> str:
    from sockdojo.web.passwords import password_problem

    if from_stdin:
        # Only the line ending goes: spaces may be part of a password.
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    problem = password_problem(password)
    if problem:
        raise click.BadParameter(problem, param_hint="password")
    return password


def _check_name(name: str) -> None:
    if not valid_account_name(name):
        raise click.BadParameter(
            f"use {ACCOUNT_NAME_RULE}",
            param_hint="NAME",
        )


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port."
)
@click.option(
    "--secure-cookies",
    is_flag=True,
    help="Mark the session cookie Secure (when a proxy serves the dojo over HTTPS).",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes sharing the port (one per core), forked from one that has loaded the"
    " live scoreboard.",
)
@click.option(
    "--public-url",
    metavar="URL",
    envvar="SOCKDOJO_PUBLIC_URL",
    help="The address learners reach the dojo at (https://dojo.example.org), shown by"
    " `sockdojo login`; default: the address each request used.",
)
def serve(host: str, port: int, secure_cookies: bool, workers: int, public_url: str | None) -> None:
    """Run the web dojo: module page, scoreboard, accounts, flag submission, API."""
    try:
        from sockdojo.web import server
    except ImportError:
        raise click.ClickException(WEB_EXTRA_MISSING) from None

    def announce(url: str, database: str) -> None:
        say(paint("sockdojo web dojo", "cyan", bold=True) + f" at {url}")
        say(f"  data: {settings.home}   database: {database}")
        say("  Register an account in the browser, then start a challenge in another terminal")
        say("  as that account, so its flag is yours:  sockdojo --account NAME run client")
        say(f"  Learners on their own computers:  sockdojo login {public_url or url.rstrip('/')}")
        say("  Ctrl-C stops the server.")

    settings = _settings()
    try:
        server.serve(
            settings,
            host=host,
            port=port,
            secure_cookies=secure_cookies,
            workers=workers,
            announce=announce,
            public_url=public_url,
        )
    except KeyboardInterrupt:
        # uvicorn shuts down cleanly, then hands the Ctrl-C back: that is a normal stop.
        pass
    except server.ServeFailed as failed:
        raise click.ClickException(failed.message) from None
    say("The web dojo stopped.")


@click.group("account")
def account() -> None:
    """Manage accounts (the CLI's --account NAME acts as one of them)."""


@account.command("add")
@click.argument("name")
@click.option("--admin", is_flag=True, help="An admin: manages the dojo, is not ranked.")
@click.option("--hidden", is_flag=True, help="Kept off the scoreboard.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read a password (one line) from standard input, so the account can log in on the web.",
)
def account_add(name: str, admin: bool, hidden: bool, password_stdin: bool) -> None:
    """Create an account. Without a password it can only be used from this command line."""
    _check_name(name)
    from sockdojo.storage import accounts

    password_hash = _passwords().hash(_read_password(True)) if password_stdin else None
    try:
        created = accounts.create(
            _store(), name, admin=admin, hidden=hidden, password_hash=password_hash
        )
    except accounts.NameTaken as taken:
        raise click.ClickException(taken.message) from None
    roles = [role for role, on in (("admin", admin), ("hidden", hidden)) if on]
    extra = f" ({', '.join(roles)})" if roles else ""
    login = "can log in on the web" if password_hash else "no password: CLI only"
    say(f"Created account {created.name}{extra}; {login}.")


@account.command("set-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def account_set_password(name: str, password_stdin: bool) -> None:
    """Give an account a (new) password for the web dojo. Its web sessions end."""
    from sqlalchemy import delete

    from sockdojo.storage import accounts, admin
    from sockdojo.storage.models import WebSession

    _check_name(name)
    store = _store()
    with store.session() as session:
        found = accounts.find(session, name)
        if found is None:
            raise click.ClickException(f"there is no account {name!r}")
        account_id = found.id
    password_hash = _passwords().hash(_read_password(password_stdin))
    with store.session() as session:
        admin.set_password_hash(session, account_id, password_hash)
        session.execute(delete(WebSession).where(WebSession.account_id == account_id))
    say(f"The password of {name} is set.")


def _set_hidden(name: str, hidden: bool) -> None:
    from sockdojo.storage import accounts, admin

    _check_name(name)
    with _store().session() as session:
        found = accounts.find(session, name)
        if found is None:
            raise click.ClickException(f"there is no account {name!r}")
        admin.set_hidden(session, found.id, hidden)
    say(admin.visibility_said(name, hidden))


@account.command("hide")
@click.argument("name")
def account_hide(name: str) -> None:
    """Keep an account off the scoreboard."""
    _set_hidden(name, True)


@account.command("unhide")
@click.argument("name")
def account_unhide(name: str) -> None:
    """Put a hidden account back on the scoreboard."""
    _set_hidden(name, False)


@account.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def account_list(as_json: bool) -> None:
    """Every account, with its role."""
    from sockdojo.storage import admin

    with _store().session() as session:
        found = admin.all_accounts(session)
    if as_json:
        say_json(
            [
                {
                    "name": a.name,
                    "admin": a.is_admin,
                    "hidden": a.is_hidden,
                    "password": a.password_hash is not None,
                    "created_at": a.created_at.isoformat(),
                }
                for a in found
            ]
        )
        return
    if not found:
        say("No accounts yet.")
    for a in found:
        tags = [t for t, on in (("admin", a.is_admin), ("hidden", a.is_hidden)) if on]
        if a.password_hash is None:
            tags.append("no password")
        say(f"  {a.name:<32} {', '.join(tags)}".rstrip())


@click.command("scoreboard")
@click.option(
    "--days",
    type=click.Choice([str(days) for days in WINDOWS]),
    default=str(DEFAULT_DAYS),
    show_default=True,
    help="The window: 30 days, 7 days or 0 for all time.",
)
@click.option("--limit", type=click.IntRange(1, 1000), default=DEFAULT_LIMIT, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def scoreboard(ctx: click.Context, days: str, limit: int, as_json: bool) -> None:
    """The module's scoreboard, as on the web dojo's module page."""
    from sockdojo.challenges import registry
    from sockdojo.scoreboard.live import LiveScoreboard
    from sockdojo.storage import accounts
    from sockdojo.storage.models import utcnow

    store = _store()
    name = ctx.find_root().obj["account"] if ctx.find_root().obj else None
    with store.session() as session:
        viewer = accounts.find(session, name) if name else None
    # The live scoreboard loads only what this one window needs: at scale, a second where the
    # SQL board (a GROUP BY over every solve, and the badges') takes tens.
    live = LiveScoreboard(store, warm=(int(days),))
    board = live.board(
        registry.MODULE_ID, int(days), utcnow(), viewer.id if viewer else None, limit
    )
    live.close()
    from sockdojo.api_shapes import scoreboard_of

    # The API's shape: the same document, and the same text, as the logged-in CLI prints.
    shape = scoreboard_of(board, int(days))
    if as_json:
        say_shape(shape)
    else:
        print_board(shape)


def print_board(board: Scoreboard) -> None:
    """A scoreboard as text, the local dojo's and the class server's alike: its rows, then the
    viewer's own row (highlighted) when it ranks below them."""
    from sockdojo.challenges import registry

    title = f"{board.days}-day" if board.days else "All-time"
    say(paint(f"{registry.MODULE_TITLE}: {title} scoreboard", "cyan", bold=True))
    me = board.me
    rows = list(board.rows)
    if me is not None and all(r.hacker != me.hacker for r in rows):
        rows.append(me)
    if not rows:
        say("No solves in this window yet.")
        return
    say(f"  {'Rank':>4}  {'Hacker':<32} {'Score':>5}  Badges")
    for r in rows:
        line = f"  {r.rank:>4}  {r.hacker:<32} {r.score:>5}  {''.join(r.badges)}"
        mine = me is not None and r.hacker == me.hacker
        say(paint(line, "green", bold=True) if mine else line)


def register(cli: click.Group) -> None:
    cli.add_command(serve)
    cli.add_command(account)
    # Another part of the CLI may bring its own scoreboard command: it wins.
    if "scoreboard" not in cli.commands:
        cli.add_command(scoreboard)
