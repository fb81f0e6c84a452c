"""`sockdojo serve`: bind, open the store, build the app, and serve it from one or N processes."""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

from sockdojo.config import Settings
from sockdojo.errors import SockdojoError
from sockdojo.flags import HmacFlagAuthority, load_or_create_secret
from sockdojo.net.accept_loop import listening_socket
from sockdojo.storage.database import Store
from sockdojo.web.app import create_app, warm_up
from sockdojo.web.dojo import WebDojo
from sockdojo.web.http_limits import server_options
from sockdojo.web.keys import load_or_create_session_key

# PostgreSQL ends any statement of the web dojo's that runs longer: a request gave up on it
# after DATABASE_SECONDS already, and its thread should not be held for ever (by a lock wait,
# say). Generous, as the live scoreboard's first load at scale takes seconds.
STATEMENT_TIMEOUT_MS = 60_000


def limit_statements(store: Store, milliseconds: int = STATEMENT_TIMEOUT_MS) -> None:
    """On PostgreSQL, give every connection the store opens from now on a statement timeout
    (server side) and close the pooled ones (opened for the migrations) so none is without."""
    if store.engine.dialect.name != "postgresql":
        return

    def on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET statement_timeout = {int(milliseconds)}")
        cursor.close()
        dbapi_connection.commit()

    event.listen(store.engine, "connect", on_connect)
    store.engine.dispose()


class ServeFailed(SockdojoError):
    """The web dojo could not be served (the command says so and exits 1)."""

    exit_code = 1


class CannotListen(ServeFailed):
    """The port is taken, or the address is not ours."""


class WorkersFailed(ServeFailed):
    """The workers could not start, or stopped with an error."""


def serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    secure_cookies: bool,
    workers: int,
    announce: Callable[[str, str], None],
    public_url: str | None = None,
) -> None:
    """Serve the web dojo until stopped (Ctrl-C, SIGTERM). `announce(url, database)` is told
    where, once the port is bound and the store open. Raises CannotListen for a busy port, and
    WorkersFailed when N workers cannot start."""
    # Bind before opening the store: a busy port fails at once, and leaves no database behind.
    try:
        listener = listening_socket(host, port)
    except OSError as error:
        raise CannotListen(
            f"cannot listen on {host}:{port}: {error.strerror or error}. "
            "Is another dojo running? Choose another one with --port."
        ) from None
    try:
        # Migrates the database and makes the secrets before any worker starts.
        store = Store(settings.database_url)
    except BaseException:
        listener.close()
        raise
    try:
        limit_statements(store)
        authority = HmacFlagAuthority(load_or_create_secret(settings.home), settings.flag_prefix)
        secret_key = load_or_create_session_key(settings.home)
        bound = listener.getsockname()[1]
        shown_host = f"[{host}]" if listener.family == socket.AF_INET6 else host
        announce(
            f"http://{shown_host}:{bound}/",
            make_url(settings.database_url).render_as_string(hide_password=True),
        )
        app = create_app(
            WebDojo(store, authority),
            secret_key=secret_key,
            secure_cookies=secure_cookies,
            public_url=public_url,
        )
        warm_up(app)
        if workers == 1:
            config = uvicorn.Config(app, log_level="warning", **server_options())
            uvicorn.Server(config).run(sockets=[listener])
        else:
            try:
                from sockdojo.web.prefork import serve_forked
            except ImportError:  # gunicorn: not on Windows
                raise WorkersFailed(
                    "serve --workers N needs gunicorn and uvicorn-worker: "
                    "pip install 'sockdojo[web]' (not on Windows)"
                ) from None
            serve_forked(app, listener, workers)
    finally:
        listener.close()
        store.dispose()
