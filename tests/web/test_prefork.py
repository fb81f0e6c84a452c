"""The pre-fork server's parts, reached directly (the whole runs in tests/cli/test_web_commands)."""

from __future__ import annotations

import signal
import socket

import uvicorn
from starlette.applications import Starlette

from sockdojo.net.accept_loop import listening_socket
from sockdojo.web.http_limits import GuardedHttpToolsProtocol
from sockdojo.web.prefork import (
    STOPS,
    DojoWorker,
    HeldStopsServer,
    PreforkedDojo,
)


def test_the_application_serves_the_warm_app_on_a_duplicate_of_the_listener() -> None:
    app = Starlette()
    with listening_socket("127.0.0.1", 0) as listener:
        dojo = PreforkedDojo(app, listener, 3)
        assert dojo.load() is app
        fd = int(dojo.bind.removeprefix("fd://"))
        assert fd != listener.fileno()
        # The duplicate is the same listening socket.
        with socket.socket(fileno=fd) as duplicate:
            assert duplicate.getsockname() == listener.getsockname()
        assert dojo.cfg.workers == 3
        assert dojo.cfg.worker_class is DojoWorker
        assert dojo.cfg.preload_app is True


def test_workers_get_the_same_uvicorn_settings_as_one_process() -> None:
    with listening_socket("127.0.0.1", 0) as listener:
        dojo = PreforkedDojo(Starlette(), listener, 2)
        worker = DojoWorker(0, 1, [listener], dojo, 30, dojo.cfg, dojo.cfg.logger_class(dojo.cfg))
    assert worker.config.http is GuardedHttpToolsProtocol
    assert worker.config.limit_concurrency is not None
    assert worker.config.timeout_keep_alive == 5
    assert worker.config.lifespan == "off"


def test_the_server_lets_the_stop_signals_in_only_while_it_listens_for_them() -> None:
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    server = HeldStopsServer(uvicorn.Config(Starlette()))
    try:
        with server.capture_signals():
            inside = signal.pthread_sigmask(signal.SIG_BLOCK, [])
        after = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
    assert not STOPS & inside
    assert after >= STOPS
