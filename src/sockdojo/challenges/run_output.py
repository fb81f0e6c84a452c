"""What a network challenge's run prints: the banner, the verdict, the served-run summary.

One shape for `sockdojo run` and the exported pwn.college `/challenge/run`, which differ only
in how text reaches the terminal (`say`, `paint`), how the flag is handed in (`submit`), the
commands named in our texts (`words`), and what else hears about a diagnosis (class mode's run
report). Standard library only: the export vendors it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sockdojo.challenges import registry
from sockdojo.challenges.outcome import CheckResult
from sockdojo.challenges.serving import ServeReport
from sockdojo.mistakes import Diagnosis


def _plain(text: str, colour: str, *, bold: bool = False) -> str:
    return text


def _same(text: str) -> str:
    return text


@dataclass(frozen=True)
class RunOutput:
    say: Callable[[str], None]
    submit: str  # how to hand the flag in, after "Then " / a served run's summary
    paint: Callable[..., str] = _plain  # (text, colour, bold=) -> text, coloured or not
    words: Callable[[str], str] = _same  # our texts in the platform's commands
    on_diagnosis: Callable[[str], None] | None = None  # told each diagnosis code shown

    def diagnosis(self, diagnosis: Diagnosis) -> None:
        if self.on_diagnosis is not None:
            self.on_diagnosis(diagnosis.code)
        self.say(f"  {self.words(diagnosis.saw)}")
        self.say(f"  {self.paint('Why:', 'yellow')} {self.words(diagnosis.why)}")
        self.say(f"  {self.paint('Next:', 'yellow')} {self.words(diagnosis.next_step)}")

    def verdict(self, result: CheckResult) -> int:
        """The checker's verdict; the run's exit status (0 passed, 1 the learner's side)."""
        self.say("")
        if result.passed:
            self.say(self.paint("PASSED", "green", bold=True) + "  " + result.summary)
            for note in result.notes:
                self.say(f"  Note: {note}")
            self.say(f"  Then {self.submit}")
            return 0
        self.say(self.paint("FAILED", "red", bold=True) + "  " + self.words(result.summary))
        if result.diagnosis is not None:
            self.diagnosis(result.diagnosis)
        return 1

    def cannot_serve(self, challenge: registry.Challenge, diagnosis: Diagnosis) -> int:
        self.say(
            self.paint("FAILED", "red", bold=True) + f"  Could not start the {challenge.id} server."
        )
        self.diagnosis(diagnosis)
        return 1

    def serving(self, challenge: registry.Challenge, host: str, port: int, once: bool) -> None:
        what = (
            "Connect your client to it and send something; it answers with your flag."
            if challenge.id == "client"
            else "Connect your client, read the banner, ask a question, read the answer."
        )
        self.say(
            self.paint(challenge.title, "cyan", bold=True) + f": listening on {host}:{port} (TCP)."
        )
        stops = "Ctrl-C stops it" + (" (--once: so does the first flag)." if once else ".")
        self.say(f"{what} Use another terminal. {stops}")

    def checking(self, challenge: registry.Challenge, host: str, port: int) -> None:
        self.say(
            self.paint(challenge.title, "cyan", bold=True)
            + f": connecting to your server on {host}:{port}."
        )

    def served(self, report: ServeReport) -> None:
        self.say("")
        self.say(f"Stopped after {count(report.connections, 'connection')}.")
        if report.flags_delivered:
            self.say(
                f"{count(report.flags_delivered, 'flag')} read by your client. Take the flag "
                f"your client printed and {self.submit}"
            )
        if report.flags_unread:
            self.say(
                f"{count(report.flags_unread, 'flag')} sent, but your client closed before "
                "reading it: keep calling recv() until it returns b'' (we close right after "
                "the flag)."
            )
        if not report.flags_delivered and not report.flags_unread:
            self.say("No flag was handed out.")


def count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")
