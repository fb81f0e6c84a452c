"""The `client` challenge's server side: wait for a byte, send the flag, close.

A client that connects and waits for us to speak first would wait forever (and so would we), so
after a few silent seconds we send one line telling it to send something first, and keep waiting.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sockdojo.net.protocol import Action, AnswersOnce, Close, Note, Send, SendFlag, preview

HINT = (
    b"sockdojo: I'm waiting for you to send something first "
    b"(any bytes, e.g. sock.send(b'hi')), then I'll answer with your flag.\n"
)
UDP_HINT = (
    b"sockdojo: this is UDP (SOCK_DGRAM), but the client challenge speaks TCP: "
    b"create your socket with socket.SOCK_STREAM and connect() to 127.0.0.1:1337.\n"
)


@dataclass
class ClientChallengeProtocol(AnswersOnce):
    hint_after: float = 4.0  # silence before the hint
    give_up_after: float = 60.0  # further silence before we hang up
    _hinted: bool = field(default=False, init=False)  # the connection's state, not an argument

    def allowed_silence(self) -> float:
        return self.give_up_after if self._hinted else self.hint_after

    def connection_made(self) -> list[Action]:
        return [Note("connected")]

    def data_received(self, data: bytes) -> list[Action]:
        if self.ended:
            return []
        self.ended = True
        return [
            Note(f"received {preview(data, flag_prefix=self.flag_prefix)}"),
            SendFlag(),
            Note("sent the flag and closed the connection"),
            Close(),
        ]

    def eof_received(self) -> list[Action]:
        if self.ended:
            return []
        self.ended = True
        return [
            Note(
                "the client closed without sending anything: "
                "it must send at least one byte to get the flag"
            ),
            Close(),
        ]

    def timer_expired(self) -> list[Action]:
        if self.ended:
            return []
        if not self._hinted:
            self._hinted = True
            return [
                Note(
                    f"silent for {self.hint_after:.0f} s: sent a hint that it must "
                    "send something first (recv() before send() waits forever)"
                ),
                Send(HINT),
            ]
        self.ended = True
        return [Note("still silent after the hint: hung up"), Close()]

    def connection_lost(self, error: str | None) -> list[Action]:
        if self.ended:
            return [Note(f"the client hung up early ({error}); it may not have read the flag")]
        return [Note(f"the connection was lost ({error})")]
