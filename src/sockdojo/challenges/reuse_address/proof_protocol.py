"""What the two sides of the behaviour proof share: the waits, the steps, the result, and the
JSON lines the driver (inside, `driver.py`) writes to the launching side (outside, `proof.py`).

One JSON object per line: {"type": "step", ...} as things happen, {"type": "group", "pgid": N}
when the driver starts the program, and finally {"type": "result", "result": {...}}.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    BOUND = "bound"  # the restart bound: the proof passes
    ADDRESS_IN_USE = "address-in-use"  # a start died (or kept failing) with EADDRINUSE
    NO_LISTEN = "no-listen"  # it never listened on the port within the time limit
    ELSEWHERE = "elsewhere"  # it listens, but on another port or address
    EXITED = "exited"  # it ended (crashed) before listening
    CONNECT_FAILED = "connect-failed"
    RESTART_CRASHED = "restart-crashed"  # the restart died of something else
    RESTART_TIMEOUT = "restart-timeout"  # the restart neither listened nor died
    SKIPPED = "skipped"  # not run here (no namespace and the port is busy, --no-run, ...)
    ERROR = "error"  # our side failed; never the learner's fault


@dataclass(frozen=True)
class Timing:
    """Upper bounds of every wait, in seconds. A correct program needs a fraction of each."""

    listen: float = 5.0  # first start until it listens
    accept: float = 1.0  # our connection until it is accepted
    eof: float = 2.0  # the kill until our side sees the connection closed
    time_wait: float = 1.0  # our close until the kernel shows TIME_WAIT
    restart: float = 5.0  # second start until it listens or dies
    elsewhere: float = 0.5  # seeing a listener on another port until we give up waiting

    @property
    def total(self) -> float:
        return self.listen + self.accept + self.eof + self.time_wait + self.restart + 5.0


@dataclass(frozen=True)
class Step:
    name: str
    text: str
    detail: str | None = None


@dataclass
class ProofResult:
    outcome: Outcome
    isolation: str | None = None
    steps: list[Step] = field(default_factory=list)
    error_line: str | None = None  # the program's own line: `OSError: [Errno 98] ...`
    output_tail: str | None = None  # the end of its stderr, when it crashed
    time_wait: bool | None = None  # did the kill leave the port in TIME_WAIT?
    accepted: bool | None = None
    elsewhere: list[str] = field(default_factory=list)
    reason: str | None = None  # why skipped / what went wrong on our side
    not_isolated: list[str] = field(default_factory=list)  # what the program shared with us

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.BOUND

    @property
    def ran(self) -> bool:
        return self.outcome not in (Outcome.SKIPPED, Outcome.ERROR)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ProofResult:
        """The driver's result line, read back (anything malformed reads as absent)."""
        raw_steps = data.get("steps")
        steps = [
            Step(str(s.get("name")), str(s.get("text")), _text(s.get("detail")))
            for s in (raw_steps if isinstance(raw_steps, list) else [])
            if isinstance(s, dict)
        ]
        return cls(
            Outcome(str(data.get("outcome"))),
            isolation=_text(data.get("isolation")),
            steps=steps,
            error_line=_text(data.get("error_line")),
            output_tail=_text(data.get("output_tail")),
            time_wait=_flag(data.get("time_wait")),
            accepted=_flag(data.get("accepted")),
            elsewhere=_texts(data.get("elsewhere")),
            reason=_text(data.get("reason")),
            not_isolated=_texts(data.get("not_isolated")),
        )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _texts(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _line(message: dict[str, object]) -> str:
    return json.dumps(message) + "\n"


def step_line(step: Step) -> str:
    return _line({"type": "step", **asdict(step)})


def group_line(pgid: int) -> str:
    return _line({"type": "group", "pgid": pgid})


def result_line(result: ProofResult) -> str:
    return _line({"type": "result", "result": result.as_dict()})


@dataclass(frozen=True)
class Message:
    """One line from the driver, decoded: exactly one of the three is set."""

    step: Step | None = None
    group: int | None = None
    result: ProofResult | None = None


def read_line(line: bytes) -> Message | None:
    """The message on one line, or None for anything else (the driver prints nothing else)."""
    try:
        data = json.loads(line)
        kind = data.get("type")
        if kind == "step":
            return Message(step=Step(str(data["name"]), str(data["text"]), data.get("detail")))
        if kind == "group":
            return Message(group=int(data["pgid"]))
        if kind == "result":
            return Message(result=ProofResult.from_dict(data["result"]))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return None
