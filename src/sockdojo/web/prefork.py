"""`sockdojo serve --workers N`: uvicorn workers forked by gunicorn from a warm parent.

The parent has imported the web stack and loaded the live scoreboard already: each worker is a
fork of it, ready at once, and shares those pages with it until it writes to them. No database
connection crosses the fork (`release_connections`); each worker's scoreboard catches up with
the database before every answer, as separate processes do. gunicorn's parent restarts a
worker that dies, by forking again.

Stop signals are held (blocked) in a worker from the fork until uvicorn listens for them, and
again once it has shut down. One that reached a new worker before would go to the parent's
handlers, inherited through the fork, and be lost (the worker would serve on until gunicorn
kills it 30 s later: a Ctrl-C right after the first answer, while the second worker was being
forked, did that); one taken by a handler of ours in the middle of the event loop's set-up
could only break it; a SIGQUIT after the loop has closed would kill the worker (its default
action). Held, it waits for uvicorn, which shuts down, or for the worker's exit.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import socket
import sys
from collections.abc import Generator
from typing import Any

import uvicorn
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from starlette.applications import Starlette
from uvicorn_worker import UvicornWorker

from sockdojo.web.app import after_fork, release_connections
from sockdojo.web.http_limits import KEEP_ALIVE_SECONDS, server_options
from sockdojo.web.server import WorkersFailed

STOPS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGQUIT})


class HeldStopsServer(uvicorn.Server):
    """uvicorn's server, letting the stop signals in only while it listens for them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        try:
            with super().capture_signals():
                signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)
                yield
        finally:
            signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)


class DojoWorker(UvicornWorker):
    """uvicorn-worker's worker, run as `--workers 1` runs uvicorn (the same `server_options`),
    stopping as uvicorn does on Ctrl-C whichever stop signal gunicorn sends."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Read by UvicornWorker.__init__; computed here, in the worker, not at import.
        self.CONFIG_KWARGS = server_options()
        super().__init__(*args, **kwargs)

    def init_signals(self) -> None:
        super().init_signals()
        # uvicorn hands the signal that stopped it back once it has shut down: the worker then
        # leaves with status 0 rather than be killed by it (which gunicorn's parent would
        # report as a warning).
        signal.signal(signal.SIGINT, _ignore)
        signal.signal(signal.SIGTERM, _ignore)

    async def _serve(self) -> None:
        # uvicorn-worker's own, with HeldStopsServer.
        self.config.app = self.wsgi
        server = HeldStopsServer(config=self.config)
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)

    def handle_exit(self, sig: int, frame: object) -> None:
        # gunicorn's parent stops its workers with SIGQUIT when it gets a SIGINT of its own;
        # uvicorn-worker only notes it (Kludex/uvicorn-worker#2), so the worker would wait for
        # the SIGKILL 30 s later. Shut uvicorn down as on Ctrl-C instead.
        super().handle_exit(sig, frame)
        signal.raise_signal(signal.SIGINT)


class HeldStopsArbiter(Arbiter):
    """gunicorn's parent, forking each worker with the stop signals held."""

    def spawn_worker(self) -> int:
        held = signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
        try:
            return int(super().spawn_worker())
        finally:
            # The parent lets them in again; a worker leaves through here too, with them
            # held: they can only come too late.
            if os.getpid() == self.pid:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)


class PreforkedDojo(BaseApplication):
    """gunicorn's application: `app`, already built and warm, served from `workers` forks on
    `listener` (a duplicate of it: gunicorn takes over, and closes, the descriptor it gets)."""

    def __init__(self, app: Starlette, listener: socket.socket, workers: int) -> None:
        self.app = app
        self.bind = f"fd://{os.dup(listener.fileno())}"
        self.workers = workers
        super().__init__()

    def load_config(self) -> None:
        settings: dict[str, object] = {
            "bind": [self.bind],
            "workers": self.workers,
            "worker_class": DojoWorker,
            "preload_app": True,
            "post_fork": lambda _arbiter, _worker: after_fork(self.app),
            "loglevel": "warning",
            "keepalive": KEEP_ALIVE_SECONDS,
            "proc_name": "sockdojo",
        }
        # Newer gunicorn releases open a control socket ($XDG_RUNTIME_DIR or ~/.gunicorn).
        if "control_socket_disable" in self.cfg.settings:
            settings["control_socket_disable"] = True
        for name, value in settings.items():
            self.cfg.set(name, value)

    def load(self) -> Starlette:
        return self.app

    def run(self) -> None:
        try:
            HeldStopsArbiter(self).run()
        except RuntimeError as error:  # as gunicorn's own `run` reports them
            raise WorkersFailed(str(error)) from None


def serve_forked(app: Starlette, listener: socket.socket, workers: int) -> None:
    """Serve `app` from `workers` forked processes until stopped (Ctrl-C, SIGTERM).

    Raises WorkersFailed when the workers cannot start or stop with an error.
    """
    release_connections(app)
    # What was loaded stays shared with the workers: the collector never visits it again (it
    # would write to every page it visits, copying them into each worker).
    gc.freeze()
    sys.stdout.flush()
    sys.stderr.flush()
    parent = os.getpid()
    try:
        PreforkedDojo(app, listener, workers).run()
    except SystemExit as stop:
        if os.getpid() != parent:
            raise  # a worker leaving: its own exit status, nothing of the parent's to say
        if stop.code not in (None, 0):
            raise WorkersFailed(
                f"the web dojo's workers stopped (gunicorn exit status {stop.code}); "
                "see the messages above"
            ) from None


def _ignore(_signal: int, _frame: object) -> None:
    pass
