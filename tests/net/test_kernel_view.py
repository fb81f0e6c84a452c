from __future__ import annotations

import socket
import time

import pytest

from sockdojo.net import kernel_view

pytestmark = pytest.mark.skipif(kernel_view.tcp_sockets() is None, reason="needs /proc/net/tcp")


def test_listener_and_accept_queue_are_seen() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        port = server.getsockname()[1]
        listener = kernel_view.listener_for("127.0.0.1", port)
        assert listener is not None and listener.receive_queue == 0
        with socket.create_connection(("127.0.0.1", port)) as client:
            time.sleep(0.05)
            listener = kernel_view.listener_for("127.0.0.1", port)
            assert listener is not None and listener.receive_queue == 1
            client.sendall(b"12345")
            time.sleep(0.05)
            peer = kernel_view.peer_of(client.getsockname(), client.getpeername())
            assert peer is not None and peer.receive_queue == 5


def test_ipv6_listener_is_decoded() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    with socket.socket(socket.AF_INET6) as server:
        try:
            server.bind(("::1", 0))
        except OSError:
            pytest.skip("::1 not available")
        server.listen()
        port = server.getsockname()[1]
        found = kernel_view.listeners(port)
        assert found and found[0].local_host == "::1" and found[0].ipv6
