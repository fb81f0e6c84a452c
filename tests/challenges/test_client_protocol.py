from __future__ import annotations

from collections.abc import Sequence

from sockdojo.challenges.client import HINT, ClientChallengeProtocol
from sockdojo.net.protocol import Close, Send, SendFlag

FLAG = b"sockdojo{test}\n"  # what the loop sends where a machine says SendFlag
PREFIX = b"sockdojo"


def sent(actions: Sequence[object]) -> bytes:
    # The loop puts the flag where a machine says SendFlag: the machines never hold it.
    return b"".join(
        a.data if isinstance(a, Send) else FLAG for a in actions if isinstance(a, Send | SendFlag)
    )


def test_flag_after_first_byte_then_close() -> None:
    machine = ClientChallengeProtocol(PREFIX)
    assert sent(machine.connection_made()) == b""
    actions = machine.data_received(b"h")
    assert sent(actions) == FLAG
    assert any(isinstance(a, SendFlag) for a in actions)
    assert isinstance(actions[-1], Close)
    assert machine.timeout is None
    # Later bytes change nothing: one flag per connection.
    assert machine.data_received(b"more") == []


def test_silence_gets_a_hint_and_the_client_may_still_send() -> None:
    machine = ClientChallengeProtocol(PREFIX, hint_after=4, give_up_after=60)
    machine.connection_made()
    assert machine.timeout == 4
    actions = machine.timer_expired()
    assert sent(actions) == HINT
    assert b"send" in HINT and HINT.endswith(b"\n") and HINT.count(b"\n") == 1
    assert FLAG not in sent(actions)
    assert machine.timeout == 60
    assert sent(machine.data_received(b"hi")) == FLAG


def test_still_silent_after_the_hint_hangs_up() -> None:
    machine = ClientChallengeProtocol(PREFIX)
    machine.connection_made()
    machine.timer_expired()
    actions = machine.timer_expired()
    assert isinstance(actions[-1], Close) and sent(actions) == b""


def test_end_of_stream_without_data_gets_no_flag() -> None:
    machine = ClientChallengeProtocol(PREFIX)
    machine.connection_made()
    actions = machine.eof_received()
    assert sent(actions) == b"" and isinstance(actions[-1], Close)
