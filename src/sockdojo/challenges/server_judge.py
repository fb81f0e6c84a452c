"""The pure judges of the `server` and `server-loop` challenges: records in, verdict out.

No sockets, no clocks: every function here reads `records.Attempt`s and returns a verdict or a
decision, so each rule is tested by feeding records, in every order events can arrive. The
checkers ask `flag_may_go` before sending the flag, so a flag is only ever handed to a server
that has already shown everything a pass needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from sockdojo.challenges.outcome import CheckResult
from sockdojo.challenges.records import Attempt, Connect, Delivery, End, Listener
from sockdojo.errors import InternalError
from sockdojo.mistakes import Diagnosis, diagnose


@dataclass(frozen=True)
class Address:
    host: str
    port: int

    def __str__(self) -> str:
        return shown(self.host, self.port)


def shown(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _places(listeners: Sequence[Listener]) -> str:
    return ", ".join(sorted({shown(s.host, s.port) for s in listeners}))


def _connection(attempt: Attempt, total: int) -> str:
    return f"Connection {attempt.number}" if total > 1 else "Our connection"


# --- connecting --------------------------------------------------------------------------


def connect_problem(attempt: Attempt, at: Address, total: int = 1) -> Diagnosis:
    """Why a connection attempt that did not connect failed, for the first connection of a
    run (a later refused connection is the server-loop judge's `_stopped`)."""
    facts = {"where": str(at), "host": at.host, "port": at.port}
    connection = _connection(attempt, total)
    if attempt.connect is Connect.TIMEOUT:
        if attempt.queue_full:
            return diagnose("accept-queue-full", connection=connection, **facts)
        return diagnose("connect-timeout", connection=connection, seconds=attempt.seconds, **facts)
    if attempt.connect is not Connect.REFUSED:
        return diagnose("connect-error", connection=connection, detail=attempt.detail, **facts)
    port = attempt.port
    if port is not None and port.elsewhere:
        addresses = _places(port.elsewhere)
        if all(s.ipv6 and ":" in s.host for s in port.elsewhere):
            return diagnose(
                "listening-ipv6-only", connection=connection, addresses=addresses, **facts
            )
        return diagnose("listening-elsewhere", connection=connection, addresses=addresses, **facts)
    if port is not None and port.bound_not_listening:
        return diagnose("not-listening", connection=connection, **facts)
    if port is not None and port.udp_bound:
        return diagnose("udp-server", connection=connection, **facts)
    if port is not None and port.other_ports:
        return diagnose(
            "listening-other-port",
            connection=connection,
            addresses=_places(port.other_ports),
            other_port=port.other_ports[0].port,
            **facts,
        )
    return diagnose("nothing-listening", **facts)


# --- one delivery ------------------------------------------------------------------------


def delivery_problem(attempt: Attempt, what: str) -> Diagnosis | None:
    """What the server did wrong with the bytes of one connection (None: it read them all)."""
    delivery = attempt.delivery
    if delivery is None:
        return None
    sent = delivery.sent
    if delivery.end is End.RESET or sent < delivery.payload:
        if delivery.accepted is False and attempt.listener_gone:
            return diagnose("listener-closed-before-accept")
        return diagnose("closed-before-reading", what=what)
    if delivery.end is End.CLOSED or delivery.unread is None or delivery.unread == 0:
        return None
    if delivery.accepted is False:
        return diagnose("never-accepted")
    if delivery.unread >= sent:
        return diagnose("never-read", sent=sent)
    return diagnose("partly-read", read=sent - delivery.unread, sent=sent, what=what)


def came_as_it_restarted(attempt: Attempt) -> bool:
    """A first connection that tells nothing about the learner's server: it waited in the
    accept queue of a listener whose program then ended (a shell loop's `nc -l` that was still
    busy with someone else keeps its listener until it exits), and a new listener took its
    place at once. The checkers make that first connection again, once, to the new listener;
    a server that takes connections and drops them unread is dropped again and judged so."""
    delivery = attempt.delivery
    return (
        attempt.number == 1
        and delivery is not None
        and delivery.end is End.RESET
        and delivery.accepted is not True
        and attempt.listener_gone
        and attempt.replacement is not None
    )


def _unconfirmed(delivery: Delivery | None) -> bool:
    """We could not see whether the server read it: no kernel view and it kept the
    connection open."""
    return delivery is not None and delivery.end is End.OPEN and delivery.unread is None


# --- the server challenge ----------------------------------------------------------------


def _as_conversation(attempt: Attempt) -> Attempt:
    """A connection reset before connect() returned is a conversation that ended at once."""
    if attempt.connect is not Connect.RESET:
        return attempt
    return replace(
        attempt, connect=Connect.CONNECTED, delivery=Delivery(0, 0, End.RESET, None, None)
    )


def judge_server(attempt: Attempt, at: Address) -> CheckResult:
    attempt = _as_conversation(attempt)
    if attempt.connect is not Connect.CONNECTED:
        return CheckResult(False, "No flag delivered.", connect_problem(attempt, at))
    if attempt.own is not None:
        return CheckResult(
            False,
            "No flag delivered to your server.",
            diagnose("own-server-running", where=str(at), which=attempt.own.which),
        )
    if attempt.delivery is None:
        raise InternalError("the server checker judged a connection it never used")
    problem = delivery_problem(attempt, "flag")
    if problem is not None:
        return CheckResult(False, "Your server did not receive the whole flag.", problem)
    notes = []
    if _unconfirmed(attempt.delivery):
        notes.append("Could not confirm that your server read the flag (no kernel view here).")
    return CheckResult(
        True,
        "Your server accepted our connection and received the flag. "
        "It should have printed it: look in your server's terminal.",
        notes=notes,
    )


# --- the server-loop challenge -----------------------------------------------------------


def _inodes(attempt: Attempt) -> set[int]:
    return {s.inode for s in (attempt.listener_before, attempt.listener_after) if s is not None}


def other_listener(first: Attempt, later: Attempt) -> bool:
    """`later` reached a different listening socket than `first` did: a restart.

    A refusal before connecting means the server was away for a moment; with a kernel view, a
    listener just before or just after connecting that is not the first one's is a new one.
    """
    if later.number > 1 and later.refusals > 0:
        return True
    seen = _inodes(first)
    return bool(seen) and not _inodes(later) <= seen


def same_server(first: Attempt, later: Attempt) -> bool:
    """Whether `later` was accepted by the listening socket that accepted `first`, and that
    socket is still listening: a listener gone right after we connected (a one-shot server
    that closes it once it has accepted) is not a server that keeps running."""
    if other_listener(first, later):
        return False
    if not first.kernel_view or (first.listener_before is None and first.listener_after is None):
        return True  # no kernel view: the refusals are all we can go by
    return later.listener_after is not None


def flag_may_go(earlier: Sequence[Attempt], current: Attempt, total: int) -> bool:
    """Send the flag on `current` (the last connection) only if every earlier connection was
    served well by the same server as the first, and `current` reached that server too."""
    if current.number != total or current.own is not None:
        return False
    everyone = [*earlier, current]
    first = everyone[0]
    return all(same_server(first, a) for a in everyone) and all(
        delivery_problem(a, "message") is None for a in earlier
    )


def judge_server_loop(attempts: Sequence[Attempt], at: Address, total: int) -> CheckResult:
    """The verdict over the connections made so far (the checker stops at the first problem)."""
    first = attempts[0]
    for attempt in attempts:
        served = attempt.number - 1
        summary = f"{served} of {total} connections served."
        problem = _loop_problem(first, attempt, at, total)
        if problem is not None:
            return CheckResult(False, summary, problem)
    if len(attempts) < total or attempts[-1].delivery is None or not attempts[-1].flag:
        # Only reachable if a checker stops early without a problem: a bug of ours.
        raise InternalError("server-loop judged before the flag was delivered")
    notes = []
    if not first.kernel_view:
        notes.append(
            "Could not check that one listening socket served every connection (no kernel "
            "view here): a server restarted between connections would pass too."
        )
    if any(_unconfirmed(a.delivery) for a in attempts):
        notes.append("Could not confirm that your server read every message (no kernel view).")
    return CheckResult(
        True,
        f"Your server accepted all {total} connections in a row and received every "
        "message; the last one was the flag. Look in your server's terminal.",
        notes=notes,
    )


def loop_attempt_problem(attempts: Sequence[Attempt], at: Address, total: int) -> Diagnosis | None:
    """The problem with the latest connection, given the ones before (None: carry on)."""
    return _loop_problem(attempts[0], attempts[-1], at, total)


def _loop_problem(first: Attempt, attempt: Attempt, at: Address, total: int) -> Diagnosis | None:
    attempt = _as_conversation(attempt)
    number = attempt.number
    if attempt.connect is not Connect.CONNECTED:
        if number > 1 and attempt.connect is Connect.REFUSED:
            if attempt.replacement is not None:
                return diagnose("restarted-listener", number=number)
            return _stopped(attempt, at, how="was refused")
        return connect_problem(attempt, at, total)
    if attempt.own is not None:
        return diagnose("own-server-running", where=str(at), which=attempt.own.which)
    if number > 1 and other_listener(first, attempt):
        return diagnose("restarted-listener", number=number)
    what = "flag" if attempt.flag else "message"
    delivery = attempt.delivery
    if (
        delivery is not None
        and delivery.end is End.RESET
        and attempt.listener_gone
        and (number > 1 or delivery.accepted is False)
    ):
        # The server's program ended under this connection: a new listener in its place is
        # a restart (a shell loop), none is a server that stopped. On the first connection a
        # server that took it and ended is first of all one that did not read it.
        if attempt.replacement is not None:
            return diagnose("restarted-listener", number=max(number, 2))
        if delivery.accepted is False and number == 1:
            return diagnose("listener-closed-before-accept")
        if delivery.accepted is not True:
            return _stopped(attempt, at, how="was dropped when your listening socket closed")
        return diagnose(
            "stopped-while-serving",
            served=_connections(number - 1),
            when=f"while handling connection {number}",
        )
    problem = delivery_problem(attempt, what)
    if problem is not None and problem.code == "never-accepted" and number > 1:
        return diagnose("stuck-on-previous", number=number, previous=number - 1)
    if problem is None and attempt.withheld:
        return diagnose("restarted-listener", number=number)
    return problem


def _stopped(attempt: Attempt, at: Address, *, how: str) -> Diagnosis:
    number = attempt.number
    if number == 2:
        return diagnose("stopped-after-first", number=number, previous=1, where=str(at), how=how)
    return diagnose(
        "stopped-while-serving",
        served=_connections(number - 1),
        when=f"after connection {number - 1}",
    )


def _connections(count: int) -> str:
    return f"{count} connection" + ("" if count == 1 else "s")
