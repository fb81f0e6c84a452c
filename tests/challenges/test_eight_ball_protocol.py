from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockdojo.challenges.eight_ball import (
    BANNER,
    CLASSIC_ANSWERS,
    NOT_A_QUESTION,
    NOTHING_ASKED,
    QUESTION_LIMIT,
    EightBallProtocol,
)
from sockdojo.net.protocol import Action, Close, Note, Send, SendFlag

FLAG = b"sockdojo{test}\n"  # what the loop sends where a machine says SendFlag
PREFIX = b"sockdojo"


def sent(actions: list[Action]) -> bytes:
    # The loop puts the flag where a machine says SendFlag: the machines never hold it.
    return b"".join(
        a.data if isinstance(a, Send) else FLAG for a in actions if isinstance(a, Send | SendFlag)
    )


def converse(chunks: list[bytes], *, end: str = "none") -> tuple[bytes, bool]:
    """Feed chunks; return what the server sent after the banner and whether it closed."""
    machine = EightBallProtocol(PREFIX, choose=random.Random(1))
    assert sent(machine.connection_made()) == BANNER
    out: list[Action] = []
    for chunk in chunks:
        out += machine.data_received(chunk)
    if end == "pause":
        out += machine.timer_expired()
    elif end == "eof":
        out += machine.eof_received()
    return sent(out), any(isinstance(a, Close) for a in out)


def test_banner_ends_with_question_mark_and_newline() -> None:
    assert BANNER.endswith(b"?\n") and BANNER.count(b"\n") == 1


@pytest.mark.parametrize(
    "question", [b"flag\n", b"Can I have the FLAG?\n", b"give me the fLaG please\n"]
)
def test_flag_questions_get_the_flag_whole_and_byte_by_byte(question: bytes) -> None:
    assert converse([question]) == (FLAG, True)
    assert converse([bytes([b]) for b in question]) == (FLAG, True)


def test_classic_answer_to_a_real_question() -> None:
    reply, closed = converse([b"Will it rain tomorrow?\n"])
    assert closed and reply.decode().strip() in CLASSIC_ANSWERS


def test_not_a_question_and_nothing_asked() -> None:
    assert converse([b"hello\n"]) == (NOT_A_QUESTION, True)
    assert converse([b"\n"]) == (NOTHING_ASKED, True)


def test_question_without_newline_ends_at_a_pause() -> None:
    assert converse([b"flag?"]) == (b"", False)
    assert converse([b"flag?"], end="pause") == (FLAG, True)


def test_question_ends_when_the_client_half_closes() -> None:
    assert converse([b"the flag?"], end="eof") == (FLAG, True)


def test_silence_times_out_with_a_note() -> None:
    assert converse([], end="pause") == (NOTHING_ASKED, True)


def test_hangup_without_question() -> None:
    assert converse([], end="eof") == (b"", True)


def test_size_cap_ends_the_question() -> None:
    machine = EightBallProtocol(PREFIX)
    machine.connection_made()
    actions = machine.data_received(b"a" * (QUESTION_LIMIT + 5000))
    assert any(isinstance(a, Close) for a in actions)
    assert machine.timeout is None


def test_the_silence_allowed_is_long_until_a_question_begins_then_a_pause() -> None:
    machine = EightBallProtocol(PREFIX, pause=0.5, silence=20)
    machine.connection_made()
    assert machine.timeout == 20
    assert machine.data_received(b"will it") == []
    assert machine.timeout == 0.5  # a pause now ends the question
    assert any(isinstance(a, Close) for a in machine.timer_expired())
    assert machine.timeout is None
    assert machine.eof_received() == []
    assert machine.timer_expired() == []


def test_a_lost_connection_is_blamed_on_an_unread_answer_only_after_an_answer() -> None:
    def lost_after(*events: str) -> str:
        machine = EightBallProtocol(PREFIX)
        machine.connection_made()
        for event in events:
            if event == "eof":
                machine.eof_received()
            else:
                machine.data_received(event.encode())
        (note,) = machine.connection_lost("reset")
        assert isinstance(note, Note)
        return note.text

    # A client that closes at once asked nothing: no answer went unread.
    assert "before reading the answer" not in lost_after("eof")
    assert "before reading the answer" in lost_after("will it rain?\n")
    assert "before a question arrived" in lost_after("will it")


def test_only_one_answer_per_connection() -> None:
    machine = EightBallProtocol(PREFIX)
    machine.connection_made()
    first = machine.data_received(b"flag\nflag\nflag\n")
    assert sum(isinstance(a, SendFlag) for a in first) == 1
    assert machine.data_received(b"flag\n") == []


@given(st.binary(max_size=3000), st.integers(min_value=1, max_value=64))
def test_any_bytes_in_any_chunking_give_one_answer_and_a_close(data: bytes, size: int) -> None:
    whole, _ = converse([data], end="pause")
    pieces, _ = converse([data[i : i + size] for i in range(0, len(data), size)], end="pause")
    # Random answers aside, chunking never changes whether the flag is given.
    assert (FLAG in whole) == (FLAG in pieces)
    machine = EightBallProtocol(PREFIX)
    machine.connection_made()
    actions = machine.data_received(data) + machine.timer_expired() + machine.eof_received()
    assert sum(isinstance(a, Close) for a in actions) == 1
