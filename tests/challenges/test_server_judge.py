"""The pure judges of the server challenges, fed records: no sockets, no clocks.

Every rule is checked on the records a real run would make, and a property test feeds every
combination of how a connection can end (refused, reset before/while/after sending, closed,
left open, read all/some/none, accepted or queued, the listener gone or replaced) to assert
that a verdict always results, that a pass never comes with unread bytes, and that the flag is
never due on a connection the verdict then fails.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TypedDict, Unpack

from hypothesis import assume, given
from hypothesis import strategies as st

from sockdojo.challenges.records import (
    Attempt,
    Connect,
    Delivery,
    End,
    Listener,
    OwnServer,
    PortFacts,
)
from sockdojo.challenges.server_judge import (
    Address,
    came_as_it_restarted,
    flag_may_go,
    judge_server,
    judge_server_loop,
    loop_attempt_problem,
)
from sockdojo.mistakes import CATALOGUE

AT = Address("127.0.0.1", 1337)
L1 = Listener(11, "127.0.0.1", 1337)
L2 = Listener(22, "127.0.0.1", 1337)


def read_all(payload: int = 43) -> Delivery:
    return Delivery(payload, payload, End.CLOSED, 0, True)


class Changes(TypedDict, total=False):
    """What these tests change in a plain attempt (the fields of `Attempt` they set)."""

    refusals: int
    listener_after: Listener | None
    port: PortFacts | None
    own: OwnServer | None
    flag: bool
    withheld: bool
    delivery: Delivery | None
    listener_gone: bool
    replacement: Listener | None


def served(number: int, listener: Listener = L1, **changes: Unpack[Changes]) -> Attempt:
    plain = Attempt(
        number,
        Connect.CONNECTED,
        kernel_view=True,
        listener_before=listener,
        listener_after=listener,
        delivery=read_all(),
    )
    return replace(plain, **changes)


def refused(number: int, **changes: Unpack[Changes]) -> Attempt:
    return replace(Attempt(number, Connect.REFUSED, kernel_view=True), **changes)


def code_of(attempt: Attempt) -> str | None:
    result = judge_server(attempt, AT)
    return result.diagnosis.code if result.diagnosis else None


def loop_code(*attempts: Attempt) -> str | None:
    result = judge_server_loop(list(attempts), AT, 3)
    assert result.passed == (result.diagnosis is None)
    return result.diagnosis.code if result.diagnosis else None


# --- server ------------------------------------------------------------------------------


def test_a_server_that_read_the_flag_passes() -> None:
    assert judge_server(served(1), AT).passed


def test_refusals_name_what_holds_the_port() -> None:
    assert code_of(refused(1)) == "nothing-listening"
    assert code_of(refused(1, port=PortFacts(bound_not_listening=True))) == "not-listening"
    assert code_of(refused(1, port=PortFacts(udp_bound=True))) == "udp-server"
    other = Listener(5, "127.0.0.1", 1338)
    result = judge_server(refused(1, port=PortFacts(other_ports=(other,))), AT)
    assert result.diagnosis is not None
    assert result.diagnosis.code == "listening-other-port"
    assert "127.0.0.1:1338" in result.diagnosis.saw
    v6 = Listener(6, "::1", 1337, ipv6=True)
    assert code_of(refused(1, port=PortFacts(elsewhere=(v6,)))) == "listening-ipv6-only"
    v4 = Listener(7, "127.0.0.2", 1337)
    assert code_of(refused(1, port=PortFacts(elsewhere=(v4,)))) == "listening-elsewhere"


def test_the_nothing_listening_diagnosis_names_the_missing_listen_crash() -> None:
    result = judge_server(refused(1), AT)
    assert result.diagnosis is not None
    assert "Errno 22" in result.diagnosis.why


def test_timeouts_and_errors() -> None:
    assert code_of(Attempt(1, Connect.TIMEOUT, queue_full=True)) == "accept-queue-full"
    assert code_of(Attempt(1, Connect.TIMEOUT, seconds=2.0)) == "connect-timeout"
    assert code_of(Attempt(1, Connect.UNREACHABLE, detail="no route")) == "connect-error"


def test_our_own_server_is_named_and_never_judged_as_the_learner() -> None:
    own = served(1, own=OwnServer("sockdojo run client"), delivery=None)
    result = judge_server(own, AT)
    assert result.diagnosis is not None
    assert result.diagnosis.code == "own-server-running"
    assert "sockdojo run client" in result.diagnosis.saw


def test_what_the_server_did_with_the_flag() -> None:
    reset = Delivery(43, 43, End.RESET, None, None)
    assert code_of(served(1, delivery=reset)) == "closed-before-reading"
    cut = Delivery(43, 10, End.RESET, None, True)
    assert code_of(served(1, delivery=cut)) == "closed-before-reading"
    queued_then_gone = Delivery(43, 43, End.RESET, 43, False)
    assert (
        code_of(served(1, delivery=queued_then_gone, listener_gone=True))
        == "listener-closed-before-accept"
    )
    assert code_of(served(1, delivery=Delivery(43, 43, End.OPEN, 43, False))) == "never-accepted"
    assert code_of(served(1, delivery=Delivery(43, 43, End.OPEN, 43, True))) == "never-read"
    partly = judge_server(served(1, delivery=Delivery(43, 43, End.OPEN, 27, True)), AT)
    assert partly.diagnosis is not None
    assert partly.diagnosis.code == "partly-read"
    assert "read 16 of the 43 bytes" in partly.diagnosis.saw
    assert code_of(served(1, delivery=Delivery(43, 43, End.OPEN, 0, True))) is None


def test_no_kernel_view_passes_with_a_note() -> None:
    unknown = Attempt(1, Connect.CONNECTED, delivery=Delivery(43, 43, End.OPEN, None, None))
    result = judge_server(unknown, AT)
    assert result.passed
    assert result.notes


# --- server-loop -------------------------------------------------------------------------


def test_one_server_that_serves_three_connections_passes() -> None:
    assert loop_code(served(1), served(2), served(3, flag=True)) is None


def test_the_flag_goes_only_to_the_listener_of_the_first_connection() -> None:
    first, second = served(1), served(2)
    assert flag_may_go([first, second], served(3, delivery=None), 3)
    assert not flag_may_go([first, second], served(3, L2, delivery=None), 3)
    # A one-shot server closes its listener once it has accepted: gone right after we connected.
    nc = served(3, listener_after=None, delivery=None)
    assert not flag_may_go([first, second], nc, 3)
    assert not flag_may_go([first, second], served(3, refusals=2, delivery=None), 3)
    assert not flag_may_go([first, second], served(2, delivery=None), 3)  # not the last
    assert not flag_may_go(
        [first, served(2, delivery=Delivery(54, 54, End.RESET, None, True))],
        served(3, delivery=None),
        3,
    )


def test_a_withheld_flag_is_a_restart() -> None:
    assert loop_code(served(1), served(2), served(3, withheld=True)) == "restarted-listener"


def test_restarts_are_never_taken_for_a_read_problem() -> None:
    # A shell loop: the dying one-shot server resets our queued connection, a new one listens.
    dying = served(2, delivery=Delivery(54, 54, End.RESET, 54, False), listener_gone=True)
    assert loop_code(served(1), dying) == "stopped-after-first"
    replaced = served(
        2,
        delivery=Delivery(54, 54, End.RESET, None, None),
        listener_gone=True,
        replacement=L2,
    )
    assert loop_code(served(1), replaced) == "restarted-listener"
    assert loop_code(served(1), served(2, L2)) == "restarted-listener"
    assert loop_code(served(1), served(2, refusals=3)) == "restarted-listener"
    assert loop_code(served(1), refused(2, replacement=L2)) == "restarted-listener"


def test_stopping_after_the_first_versus_crashing_later() -> None:
    assert loop_code(served(1), refused(2)) == "stopped-after-first"
    crashed = served(2, delivery=Delivery(54, 54, End.RESET, None, True), listener_gone=True)
    assert loop_code(served(1), crashed) == "stopped-while-serving"
    unsure = served(2, delivery=Delivery(54, 54, End.RESET, None, None), listener_gone=True)
    assert loop_code(served(1), unsure) == "stopped-after-first"
    assert loop_code(served(1), served(2), refused(3)) == "stopped-while-serving"


def test_a_connection_reset_as_it_connects_is_a_read_problem_not_a_restart() -> None:
    reset = Attempt(2, Connect.RESET, kernel_view=True, listener_before=L1, refusals=0)
    assert loop_code(served(1), reset) == "closed-before-reading"


def test_a_first_connection_reset_is_a_read_problem_even_if_the_server_then_ends() -> None:
    reset = served(1, delivery=Delivery(54, 54, End.RESET, None, True), listener_gone=True)
    assert loop_code(reset) == "closed-before-reading"
    queued = served(1, delivery=Delivery(54, 54, End.RESET, 54, False), listener_gone=True)
    assert loop_code(queued) == "listener-closed-before-accept"


def test_a_first_connection_dropped_by_a_listener_that_was_replaced_is_made_again() -> None:
    dropped = Delivery(54, 54, End.RESET, None, None)
    restarted = served(1, delivery=dropped, listener_gone=True, replacement=L2)
    assert came_as_it_restarted(restarted)
    queued = Delivery(54, 54, End.RESET, 54, False)
    assert came_as_it_restarted(replace(restarted, delivery=queued))
    # The server took it and dropped it: that is the server, not the moment we came.
    taken = Delivery(54, 54, End.RESET, None, True)
    assert not came_as_it_restarted(replace(restarted, delivery=taken))
    assert not came_as_it_restarted(replace(restarted, replacement=None))
    assert not came_as_it_restarted(replace(restarted, listener_gone=False))
    assert not came_as_it_restarted(replace(restarted, number=2))
    assert not came_as_it_restarted(served(1, replacement=L2, listener_gone=True))


def test_a_reading_loop_that_never_ends() -> None:
    stuck = served(2, delivery=Delivery(54, 54, End.OPEN, 54, False))
    assert loop_code(served(1), stuck) == "stuck-on-previous"


# --- every ordering ends in a verdict ----------------------------------------------------

listeners = st.sampled_from([None, L1, L2])
deliveries = st.builds(
    Delivery,
    payload=st.just(43),
    sent=st.sampled_from([0, 10, 43]),
    end=st.sampled_from(list(End)),
    unread=st.sampled_from([None, 0, 1, 27, 43]),
    accepted=st.sampled_from([None, True, False]),
)
attempts = st.builds(
    Attempt,
    number=st.just(1),
    connect=st.sampled_from(list(Connect)),
    refusals=st.sampled_from([0, 1]),
    kernel_view=st.booleans(),
    listener_before=listeners,
    listener_after=listeners,
    queue_full=st.booleans(),
    port=st.sampled_from(
        [None, PortFacts(), PortFacts(udp_bound=True), PortFacts(bound_not_listening=True)]
    ),
    own=st.sampled_from([None, OwnServer("sockdojo run eight-ball")]),
    delivery=st.one_of(st.none(), deliveries),
    listener_gone=st.booleans(),
    replacement=listeners,
)


def _used(attempt: Attempt) -> bool:
    """The checker converses on every connection it made, unless our own server holds it."""
    return attempt.connect is not Connect.CONNECTED or (
        attempt.own is not None or attempt.delivery is not None
    )


@given(attempts)
def test_every_server_record_gets_a_verdict(attempt: Attempt) -> None:
    assume(_used(attempt))
    result = judge_server(attempt, AT)
    assert result.passed == (result.diagnosis is None)
    if result.diagnosis is not None:
        assert result.diagnosis.code in CATALOGUE
    if result.passed:
        delivery = attempt.delivery
        assert delivery is not None
        assert attempt.connect is Connect.CONNECTED and attempt.own is None
        assert delivery.end is not End.RESET and delivery.sent == delivery.payload
        assert delivery.unread in (None, 0) or delivery.end is End.CLOSED


@given(st.lists(attempts, min_size=1, max_size=3))
def test_every_server_loop_history_gets_a_verdict(history: list[Attempt]) -> None:
    assume(all(_used(a) for a in history))
    numbered = [replace(a, number=n, flag=n == 3) for n, a in enumerate(history, 1)]
    # The checker stops at the first problem, and only sends the flag when the judge says so.
    made: list[Attempt] = []
    for attempt in numbered:
        if attempt.number == 3 and attempt.connect is Connect.CONNECTED:
            due = flag_may_go(made, attempt, 3)
            attempt = replace(attempt, flag=due, withheld=not due)
        made.append(attempt)
        if loop_attempt_problem(made, AT, 3) is not None:
            break
    if len(made) < 3 and loop_attempt_problem(made, AT, 3) is None:
        return  # the checker would make the next connection
    result = judge_server_loop(made, AT, 3)
    assert result.passed == (result.diagnosis is None)
    if result.diagnosis is not None:
        assert result.diagnosis.code in CATALOGUE
    if result.passed:
        assert made[-1].flag and not made[-1].withheld
        assert all(a.connect is Connect.CONNECTED for a in made)


def test_a_reset_as_it_connects_counts_no_refusal() -> None:
    # The observer's record of a connect that ended in a reset: its one try was not refused
    # (counting it as one made the server-loop judge call a reset a restart).
    from sockdojo.challenges import observe
    from sockdojo.net.connect import ConnectFailure
    from support import free_port

    at = Address("127.0.0.1", free_port())  # a refused record looks at the port: a free one
    reset = observe._failed(2, at, ConnectFailure(Connect.RESET, 1, 0.01, "reset"), False)
    assert reset.refusals == 0
    refused = observe._failed(2, at, ConnectFailure(Connect.REFUSED, 3, 0.4, "refused"), False)
    assert refused.refusals == 3
