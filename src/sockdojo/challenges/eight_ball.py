"""The `eight-ball` challenge's server side: banner, question, answer, close.

The banner ends in "?\n" so both read-a-line and read-until-"?" clients work. A question ends at
a newline, at a short pause after some bytes (for clients that never send a newline), or at a
size cap. Bytes are decoded leniently: this is a lesson about sockets, not about encodings.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sockdojo.net.protocol import Action, AnswersOnce, Close, Note, Send, SendFlag, preview

BANNER = b"Welcome to the sockdojo magic 8-ball. Ask me a yes-or-no question?\n"
QUESTION_LIMIT = 1024
NOTHING_ASKED = b"You didn't ask me anything. Send a question ending in a newline next time.\n"
NOT_A_QUESTION = b"Was that a question? The 8-ball only answers questions.\n"

CLASSIC_ANSWERS: tuple[str, ...] = (
    "It is certain.",
    "It is decidedly so.",
    "Without a doubt.",
    "Yes, definitely.",
    "You may rely on it.",
    "As I see it, yes.",
    "Most likely.",
    "Outlook good.",
    "Yes.",
    "Signs point to yes.",
    "Reply hazy, try again.",
    "Ask again later.",
    "Better not tell you now.",
    "Cannot predict now.",
    "Concentrate and ask again.",
    "Don't count on it.",
    "My reply is no.",
    "My sources say no.",
    "Outlook not so good.",
    "Very doubtful.",
)


# One generator for every connection: seeding a new one per connection costs a urandom call.
_ANSWERS = random.Random()


@dataclass
class EightBallProtocol(AnswersOnce):
    pause: float = 0.3  # a pause this long after some bytes ends the question
    silence: float = 30.0  # nobody asks anything for this long: we hang up
    choose: random.Random = field(default_factory=lambda: _ANSWERS)
    # The connection's state, not arguments.
    _question: bytearray = field(default_factory=bytearray, init=False)
    # Whether a question was answered (`ended` also covers a client that asked nothing).
    _answered: bool = field(default=False, init=False)

    def allowed_silence(self) -> float:
        return self.pause if self._question else self.silence  # a pause ends a question begun

    def connection_made(self) -> list[Action]:
        return [Note("connected; sent the banner"), Send(BANNER)]

    def data_received(self, data: bytes) -> list[Action]:
        if self.ended:
            return []
        room = QUESTION_LIMIT - len(self._question)
        newline = data.find(b"\n", 0, room)
        if newline >= 0:
            self._question += data[:newline]
            return self._answer("a newline")
        self._question += data[:room]
        if len(self._question) >= QUESTION_LIMIT:
            return self._answer(f"the {QUESTION_LIMIT}-byte limit")
        return []

    def eof_received(self) -> list[Action]:
        return self._question_ends(
            "the client's end of stream",
            unasked=[Note("the client hung up without asking anything"), Close()],
        )

    def timer_expired(self) -> list[Action]:
        return self._question_ends(
            "a pause",
            unasked=[
                Note(f"nothing asked in {self.silence:.0f} s: hung up"),
                Send(NOTHING_ASKED),
                Close(),
            ],
        )

    def connection_lost(self, error: str | None) -> list[Action]:
        if self._answered:
            return [
                Note(
                    f"the client hung up before reading the answer ({error}): "
                    "a client must keep receiving until the connection closes"
                )
            ]
        if self.ended:  # it ended without a question, as noted already
            return [Note(f"the connection was then lost ({error})")]
        return [Note(f"the connection was lost before a question arrived ({error})")]

    def _question_ends(self, ended_by: str, unasked: list[Action]) -> list[Action]:
        """The end of what the client sends: the answer to its question, or `unasked`."""
        if self.ended:
            return []
        if self._question:
            return self._answer(ended_by)
        self.ended = True
        return unasked

    def _answer(self, ended_by: str) -> list[Action]:
        self.ended = self._answered = True
        question = bytes(self._question)
        text = question.decode("utf-8", errors="replace").strip()
        asked = Note(
            f"question {preview(question, flag_prefix=self.flag_prefix)}, ended by {ended_by}"
        )
        if "flag" in text.casefold():
            return [
                asked,
                SendFlag(),
                Note("asked for the flag: sent it and closed"),
                Close(),
            ]
        if not text:
            reply = NOTHING_ASKED
        elif not text.endswith("?"):
            reply = NOT_A_QUESTION
        else:
            reply = self.choose.choice(CLASSIC_ANSWERS).encode() + b"\n"
        return [
            asked,
            Send(reply),
            Note(f"answered {reply.strip().decode()!r} and closed"),
            Close(),
        ]
