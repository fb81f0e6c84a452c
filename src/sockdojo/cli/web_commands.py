"""`sockdojo serve`, `sockdojo account …` and `sockdojo scoreboard`: the web dojo's commands.

Everything heavy (Starlette, uvicorn, Argon2, SQLAlchemy) is imported inside the commands so
that `sockdojo --help` stays instant.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, ClassVar, NamedTuple

import click

from sockdojo.cli.ui import paint, say, say_json
from sockdojo.config import valid_account_name

if TYPE_CHECKING:
    import socket
    from collections.abc import Generator

    from starlette.applications import Starlette

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
            "use 1-32 letters, digits, '.', '_' or '-', starting with a letter or digit",
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
    import socket

    try:
        import starlette  # noqa: F401  (only to say early when the web extra is missing)
        import uvicorn

        from sockdojo.web.keys import load_or_create_session_key
    except ImportError:
        raise click.ClickException(WEB_EXTRA_MISSING) from None
    from sqlalchemy.engine import make_url

    from sockdojo.flags import HmacFlagAuthority, load_or_create_secret
    from sockdojo.storage.database import Store

    settings = _settings()
    # Bind before opening the store: a busy port fails at once, and leaves no database behind.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {error.strerror}. "
            "Is another dojo running? Choose another one with --port."
        ) from None
    listener.listen(128)
    # Migrates the database and makes the secrets before any worker starts.
    store = Store(settings.database_url)
    authority = HmacFlagAuthority(load_or_create_secret(settings.home), settings.flag_prefix)
    secret_key = load_or_create_session_key(settings.home)
    bound = listener.getsockname()[1]
    shown_host = f"[{host}]" if family == socket.AF_INET6 else host
    say(paint("sockdojo web dojo", "cyan", bold=True) + f" at http://{shown_host}:{bound}/")
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    say(f"  data: {settings.home}   database: {database}")
    say("  Register an account in the browser, then start a challenge in another terminal")
    say("  as that account, so its flag is yours:  sockdojo --account NAME run client")
    shown_url = public_url or f"http://{shown_host}:{bound}"
    say(f"  Learners on their own computers:  sockdojo login {shown_url}")
    say("  Ctrl-C stops the server.")
    try:
        from sockdojo.web.app import create_app, warm_up

        app = create_app(
            store,
            authority,
            secret_key=secret_key,
            secure_cookies=secure_cookies,
            public_url=public_url,
        )
        warm_up(app)
        if workers == 1:
            config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
            uvicorn.Server(config).run(sockets=[listener])
        else:
            _serve_forked(app, listener, workers)
    except KeyboardInterrupt:
        # uvicorn shuts down cleanly, then hands the Ctrl-C back: that is a normal stop.
        pass
    finally:
        listener.close()
        store.dispose()
    say("The web dojo stopped.")


def _serve_forked(app: Starlette, listener: socket.socket, workers: int) -> None:
    """Serve `app` from `workers` processes forked from this one (gunicorn, uvicorn workers).

    This process has imported the web stack and loaded the live scoreboard already: each worker
    is a fork of it, ready at once, and shares those pages with it until it writes to them. No
    database connection crosses the fork (see `release_connections`); each worker's scoreboard
    catches up with the database before every answer, as separate processes do. gunicorn's
    parent restarts a worker that dies, by forking again. Returns when it stops (Ctrl-C,
    SIGTERM); raises a ClickException when the workers cannot start.
    """
    import contextlib
    import gc
    import os
    import signal

    import uvicorn

    try:
        from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]
        from gunicorn.arbiter import Arbiter  # type: ignore[import-untyped]
        from uvicorn_worker import UvicornWorker  # type: ignore[import-untyped]
    except ImportError:
        raise click.ClickException(WEB_EXTRA_MISSING) from None

    # Stop signals are held (blocked) in a worker from the fork until uvicorn listens for them,
    # and again once it has shut down. One that reached a new worker before would go to the
    # parent's handlers, inherited through the fork, and be lost (the worker would serve on
    # until gunicorn kills it 30 s later: a Ctrl-C right after the first answer, while the
    # second worker is being forked, did that); one taken by a handler of ours in the middle
    # of the event loop's set-up could only break it; a SIGQUIT after the loop has closed
    # would kill the worker (its default action). Held, it waits for uvicorn, which shuts
    # down, or for the worker's exit.
    stops = {signal.SIGINT, signal.SIGTERM, signal.SIGQUIT}

    from sockdojo.web.app import after_fork, release_connections

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Generator[None, None, None]:
            try:
                with super().capture_signals():
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)
                    yield
            finally:
                signal.pthread_sigmask(signal.SIG_BLOCK, stops)

    class Worker(UvicornWorker):  # type: ignore[misc]
        # uvicorn as `--workers 1` runs it: uvloop and httptools when installed, no lifespan
        # events (the app has none), no access log.
        CONFIG_KWARGS: ClassVar[dict[str, object]] = {
            "loop": "auto",
            "http": "auto",
            "lifespan": "off",
            "access_log": False,
        }

        def init_signals(self) -> None:
            super().init_signals()
            # uvicorn hands the signal that stopped it back once it has shut down: the worker
            # then leaves with status 0 rather than be killed by it (which gunicorn's parent
            # would report as a warning).
            signal.signal(signal.SIGINT, _ignore)
            signal.signal(signal.SIGTERM, _ignore)

        async def _serve(self) -> None:
            # uvicorn-worker's own, with the Server above.
            self.config.app = self.wsgi
            server = Server(config=self.config)
            self._install_sigquit_handler()
            await server.serve(sockets=self.sockets)
            if not server.started:
                sys.exit(Arbiter.WORKER_BOOT_ERROR)

        def handle_exit(self, sig: int, frame: object) -> None:
            # gunicorn's parent stops its workers with SIGQUIT when it gets a SIGINT of its
            # own; uvicorn-worker only notes it (Kludex/uvicorn-worker#2), so the worker would
            # wait for the SIGKILL 30 s later. Shut uvicorn down as on Ctrl-C instead.
            super().handle_exit(sig, frame)
            signal.raise_signal(signal.SIGINT)

    # gunicorn takes over (and closes) the descriptor it is given: a duplicate of ours.
    bind = f"fd://{os.dup(listener.fileno())}"

    class Dojo(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            settings: dict[str, object] = {
                "bind": [bind],
                "workers": workers,
                "worker_class": Worker,
                # The app is built and warm before the fork (it is `app`, already loaded).
                "preload_app": True,
                "post_fork": lambda _arbiter, _worker: after_fork(app),
                "loglevel": "warning",
                "keepalive": 5,  # uvicorn's own default, as with one worker
                "proc_name": "sockdojo",
            }
            # Newer gunicorn releases open a control socket ($XDG_RUNTIME_DIR or ~/.gunicorn).
            if "control_socket_disable" in self.cfg.settings:
                settings["control_socket_disable"] = True
            for name, value in settings.items():
                self.cfg.set(name, value)

        def load(self) -> Starlette:
            return app

        def run(self) -> None:
            try:
                ForkingArbiter(self).run()
            except RuntimeError as error:  # as gunicorn's own `run` reports them
                raise click.ClickException(str(error)) from None

    class ForkingArbiter(Arbiter):  # type: ignore[misc]
        def spawn_worker(self) -> int:
            held = signal.pthread_sigmask(signal.SIG_BLOCK, stops)
            try:
                return int(super().spawn_worker())
            finally:
                # The parent lets them in again; a worker leaves through here too, with them
                # held: they can only come too late.
                if os.getpid() == self.pid:
                    signal.pthread_sigmask(signal.SIG_SETMASK, held)

    release_connections(app)
    # What was loaded stays shared with the workers: the collector never visits it again (it
    # would write to every page it visits, copying them into each worker).
    gc.freeze()
    sys.stdout.flush()
    sys.stderr.flush()
    parent = os.getpid()
    try:
        Dojo().run()
    except SystemExit as stop:
        if os.getpid() != parent:
            raise  # a worker leaving: its own exit status, nothing of the parent's to say
        if stop.code not in (None, 0):
            raise click.ClickException(
                f"the web dojo's workers stopped (gunicorn exit status {stop.code}); "
                "see the messages above"
            ) from None


def _ignore(_signal: int, _frame: object) -> None:
    pass


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
    except ValueError as error:
        raise click.ClickException(str(error)) from None
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
    say(f"{name} is now {'hidden from' if hidden else 'shown on'} the scoreboard.")


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
    type=click.Choice(["30", "7", "0"]),
    default="30",
    show_default=True,
    help="The window: 30 days, 7 days or 0 for all time.",
)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
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
    rows = list(board.rows)
    if board.me is not None and board.me not in rows:
        rows.append(board.me)
    if as_json:
        say_json(
            {
                "days": int(days),
                "rows": [
                    {
                        "rank": r.rank,
                        "hacker": r.hacker,
                        "badges": [b.emoji for b in r.badges],
                        "score": r.score,
                    }
                    for r in board.rows
                ],
                "me": (
                    {"rank": board.me.rank, "hacker": board.me.hacker, "score": board.me.score}
                    if board.me
                    else None
                ),
            }
        )
        return
    print_board(
        int(days),
        [
            BoardLine(
                r.rank,
                r.hacker,
                r.score,
                "".join(b.emoji for b in r.badges),
                board.me is not None and r.account_id == board.me.account_id,
            )
            for r in rows
        ],
    )


class BoardLine(NamedTuple):
    rank: int
    hacker: str
    score: int
    badges: str
    mine: bool


def print_board(days: int, lines: list[BoardLine]) -> None:
    """A scoreboard as text: the local dojo's and the class server's alike."""
    from sockdojo.challenges import registry

    title = f"{days}-day" if days else "All-time"
    say(paint(f"{registry.MODULE_TITLE}: {title} scoreboard", "cyan", bold=True))
    if not lines:
        say("No solves in this window yet.")
        return
    say(f"  {'Rank':>4}  {'Hacker':<32} {'Score':>5}  Badges")
    for r in lines:
        line = f"  {r.rank:>4}  {r.hacker:<32} {r.score:>5}  {r.badges}"
        say(paint(line, "green", bold=True) if r.mine else line)


def register(cli: click.Group) -> None:
    cli.add_command(serve)
    cli.add_command(account)
    # Another part of the CLI may bring its own scoreboard command: it wins.
    if "scoreboard" not in cli.commands:
        cli.add_command(scoreboard)
