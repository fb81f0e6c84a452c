"""`sockdojo run reuse-address FILE`: read the file, analyse it, prove it, print the verdict.

Output goes through `echo`, either as plain text (no colour, so NO_COLOR holds trivially) or as
one JSON document. Exit status: 0 passed, 1 the program has problems (findings or a failed
proof), 2 usage error (no such file, a directory, unreadable), 3 the proof failed on our side
(no flag from the analysis alone).
"""

from __future__ import annotations

import enum
import json
import stat
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from sockdojo.challenges.reuse_address.analysis import MAX_SOURCE_BYTES, Analysis, analyze
from sockdojo.challenges.reuse_address.findings import Finding
from sockdojo.challenges.reuse_address.port_state import port_busy
from sockdojo.challenges.reuse_address.proof import Outcome, ProofResult, Step, Timing, prove
from sockdojo.mistakes import Diagnosis, diagnose
from sockdojo.net.transcript import escaped
from sockdojo.sandbox import private_network

CHALLENGE = "reuse-address"
WIDTH = 88


class UsageError(Exception):
    """The FILE argument cannot be used (missing, a directory, unreadable): exit 2."""


def read_program(path: Path) -> tuple[bytes, bool]:
    """The file's bytes (at most one more than the cap) and whether it is over the cap."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except OSError as error:
        raise UsageError(f"{path}: cannot read it ({error.strerror or error})") from None
    if stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{path} is a directory: pass the .py file of your server")
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"{path} is not a regular file: pass the .py file of your server")
    try:
        with path.open("rb") as f:
            data = f.read(MAX_SOURCE_BYTES + 1)
    except OSError as error:
        raise UsageError(f"{path}: cannot read it ({error.strerror or error})") from None
    return data, len(data) > MAX_SOURCE_BYTES


# The proof's outcomes that are the learner's program's doing, and their catalogue codes.
_PROOF_CODES = {
    "address-in-use": "proof-address-in-use",
    "no-listen": "proof-no-listen",
    "elsewhere": "proof-elsewhere",
    "exited": "proof-exited",
    "connect-failed": "proof-connect-failed",
    "restart-crashed": "proof-restart-crashed",
    "restart-timeout": "proof-restart-timeout",
}


def proof_unavailable(port: int) -> str | None:
    """Why the behaviour proof cannot run on this machine right now (None: it can)."""
    if private_network() is not None:
        return None
    return port_busy(port)


def proof_diagnosis(result: ProofResult, port: int) -> Diagnosis | None:
    """What a failed proof means for the learner (None when it passed or did not run)."""
    outcome = result.outcome
    code = _PROOF_CODES.get(outcome.value if isinstance(outcome, enum.Enum) else str(outcome))
    if code is None:
        return None
    line = escaped(result.error_line or "")
    return diagnose(
        code,
        where=f"127.0.0.1:{port}",
        port=port,
        line=line,
        error=f": {line}" if line else "",
        places=", ".join(result.elsewhere) or "another address",
        reason=result.reason,
    )


class _Report:
    """Collects what happened; prints it as it goes (text) or all at the end (JSON)."""

    def __init__(self, echo: Callable[[str], None], as_json: bool) -> None:
        self.echo = echo
        self.as_json = as_json
        self.steps: list[Step] = []

    def say(self, text: str = "") -> None:
        # Escaped: the lines quote the learner's source and their program's own output.
        if not self.as_json:
            self.echo(escaped(text))

    def wrapped(self, text: str, indent: str, first: str | None = None) -> None:
        lines = textwrap.wrap(
            text,
            WIDTH,
            initial_indent=first if first is not None else indent,
            subsequent_indent=indent,
            break_on_hyphens=False,
        )
        for line in lines or [indent.rstrip()]:
            self.say(line)

    def finding(self, item: Finding) -> None:
        where = f" at {item.line}:{item.column or 1}" if item.line else ""
        self.say(f"  {item.severity} {item.code}{where}")
        if item.source is not None:
            self.say(f"    {item.line} | {item.source}")
            if item.caret is not None:
                prefix = f"    {item.line} | "
                marker = "".join(c if c == "\t" else " " for c in item.source[: item.caret - 1])
                self.say(" " * len(prefix) + marker + "^")
        self.wrapped(item.explanation, "    ")
        if item.severity == "error":
            self.wrapped(item.fix, "    ", first="    Fix: ")
        elif item.fix != "Nothing to change.":
            self.wrapped(item.fix, "    ", first="    Tip: ")

    def step(self, item: Step) -> None:
        self.steps.append(item)
        self.say(f"  - {item.text}")
        if item.detail:
            self.say(f"        {item.detail}")


def run_reuse_address(
    path: Path,
    *,
    run_proof: bool,
    as_json: bool,
    mint_flag: Callable[[], str],
    echo: Callable[[str], None],
    port: int = 1337,
    timing: Timing | None = None,
) -> int:
    """Check the learner's server in `path`; return the exit status (0, 1, 2 or 3)."""
    report = _Report(echo, as_json)
    try:
        data, too_large = read_program(path)
    except UsageError as error:
        if as_json:
            echo(json.dumps({"challenge": CHALLENGE, "error": "usage", "message": str(error)}))
        else:
            echo(f"sockdojo run {CHALLENGE}: {error}")
        return 2

    analysis = analyze(data, port=port, too_large=too_large)
    report.say(f"Checking {path} for the {CHALLENGE} challenge.")
    report.say()
    _say_analysis(report, analysis)
    proof, cannot_prove = _prove(data, path, port, timing, report, analysis, run_proof)
    decision = _decide(analysis, proof, run_proof, cannot_prove, port, path)
    # The flag is minted only now, once the verdict is known to be a pass.
    flag = mint_flag() if decision.passed else None
    next_step = f"Submit it: sockdojo submit '{flag}'" if flag is not None else decision.next_step
    if as_json:
        document = _document(path, analysis, proof, decision, run_proof, next_step)
        if flag is not None:
            document["flag"] = flag
        echo(json.dumps(document, indent=2))
        return decision.exit_code

    report.wrapped(decision.verdict, "  ", first="Verdict: ")
    if flag is not None:
        echo("Your flag:")
        echo(flag)
    report.wrapped(next_step, "  ", first="Next: ")
    return decision.exit_code


def _prove(
    data: bytes,
    path: Path,
    port: int,
    timing: Timing | None,
    report: _Report,
    analysis: Analysis,
    run_proof: bool,
) -> tuple[ProofResult | None, str | None]:
    """The behaviour proof, or why there is none: the result, and why it could not run here
    (asked only with --no-run, to say whether the proof was missed)."""
    # The flag needs the behaviour proof wherever it can run: --no-run only checks the code.
    cannot_prove = None if run_proof else proof_unavailable(port)
    if not run_proof:
        report.say("Behaviour proof: skipped (--no-run).")
        if cannot_prove is not None:
            report.wrapped(
                f"It could not run here anyway ({cannot_prove}), so the verdict rests on the "
                "static analysis.",
                "    ",
                first="  ",
            )
        report.say()
        return None, cannot_prove
    if not analysis.runnable:
        report.say("Behaviour proof: skipped, since Python cannot run this file as it is.")
        report.say()
        return None, None
    return _run_proof(data, path, port, timing, report), None


def _document(
    path: Path,
    analysis: Analysis,
    proof: ProofResult | None,
    decision: _Decision,
    run_proof: bool,
    next_step: str,
) -> dict[str, object]:
    """The `--json` answer, without the flag."""
    return {
        "challenge": CHALLENGE,
        "file": str(path),
        "passed": decision.passed,
        "exit_code": decision.exit_code,
        "analysis": {
            "ok": analysis.passed,
            "summary": analysis.summary or None,
            "findings": [item.as_dict() for item in analysis.findings],
        },
        "proof": _proof_json(proof, run_proof, analysis, decision.diagnosis),
        "verdict": decision.verdict,
        "next_step": next_step,
    }


def _say_analysis(report: _Report, analysis: Analysis) -> None:
    report.say("Static analysis (your code is read, not run, for this part):")
    if analysis.summary:
        report.wrapped(analysis.summary, "    ", first="  ok: ")
    for item in analysis.findings:
        report.finding(item)
    if not analysis.findings and not analysis.summary:
        report.say("  nothing to report")
    if analysis.internal_error is not None:
        report.wrapped(
            "The analysis itself went wrong on this file: that is a bug in sockdojo, not a "
            f"problem with your program. Please report it, with these words: "
            f"{analysis.internal_error}",
            "    ",
            first="  note: ",
        )
    report.say()


@dataclass(frozen=True)
class _Decision:
    passed: bool
    exit_code: int
    verdict: str
    next_step: str  # before a flag: with one, the next step is to submit it
    diagnosis: Diagnosis | None


class _Standing(NamedTuple):
    """What the analysis and the proof together say of a run, before any words."""

    passed: bool
    proof_broke: bool  # the proof failed on our side, or the program broke it from inside
    analysis_broke: bool  # the analysis failed on our side, and the proof did not decide
    settled: bool  # the proof settled what the analysis could not follow
    proven: bool  # the program restarted at once on a port in TIME_WAIT

    @property
    def ours(self) -> bool:
        return self.proof_broke or self.analysis_broke


def _standing(
    analysis: Analysis, proof: ProofResult | None, run_proof: bool, cannot_prove: str | None
) -> _Standing:
    proven = proof is not None and proof.ran and proof.passed and proof.time_wait is True
    # The analysis could not follow how the option is set, but the program restarted at once
    # on a port in TIME_WAIT: what it does settles what the analysis could not read.
    settled = (
        proven and bool(analysis.errors) and all(f.code == "cannot-follow" for f in analysis.errors)
    )
    # A proof that failed on our side (or that the program broke from inside) never leaves the
    # static analysis alone to hand out a flag: the run ends as our error, exit 3.
    proof_broke = proof is not None and proof.outcome == Outcome.ERROR
    # The analysis broke on this file (a bug of ours, reported as a cannot-follow finding): that
    # is not the learner's mistake. Only the proof decides such a run, by settling it or by
    # showing the program fail to restart; without that the run ends as our error, exit 3.
    failed_restart = proof is not None and proof.ran and not proof.passed and not proof_broke
    analysis_broke = analysis.internal_error is not None and not (settled or failed_restart)
    passed = not (proof_broke or analysis_broke) and (
        settled
        or (
            analysis.passed
            and (proof is None or not proof.ran or proof.passed)
            and (run_proof or cannot_prove is not None)
        )
    )
    return _Standing(passed, proof_broke, analysis_broke, settled, proven)


def _decide(
    analysis: Analysis,
    proof: ProofResult | None,
    run_proof: bool,
    cannot_prove: str | None,
    port: int,
    path: Path,
) -> _Decision:
    """The verdict from what the analysis and the proof found (pure: no flag, no output)."""
    standing = _standing(analysis, proof, run_proof, cannot_prove)
    diagnosis = proof_diagnosis(proof, port) if proof is not None and proof.ran else None
    said = _verdict(analysis, proof, diagnosis, standing.passed)
    verdict, next_step = _in_other_words(standing, analysis, said, run_proof, cannot_prove, path)
    exit_code = 0 if standing.passed else 3 if standing.ours else 1
    return _Decision(standing.passed, exit_code, verdict, next_step, diagnosis)


def _in_other_words(
    standing: _Standing,
    analysis: Analysis,
    said: tuple[str, str],
    run_proof: bool,
    cannot_prove: str | None,
    path: Path,
) -> tuple[str, str]:
    """The verdict and the next step, where those `_verdict` gave from the findings (`said`)
    do not tell what happened."""
    verdict, next_step = said
    if standing.proof_broke:
        return (
            "not decided: the behaviour proof failed on our side (see above).",
            f"Run it again: sockdojo run {CHALLENGE} {path}",
        )
    if standing.analysis_broke:
        return (
            "not decided: the analysis failed on our side on this file (see the note above), so "
            "it says nothing about your program.",
            "Please report it with the note's words."
            if run_proof
            else f"The behaviour proof can still settle it: sockdojo run {CHALLENGE} {path}",
        )
    if standing.settled:
        return (
            "passed. The analysis could not follow how your program sets the option, but the "
            "behaviour proof settles it: your server bound its port again at once while the "
            "port was in TIME_WAIT, which takes SO_REUSEADDR set before bind() (or SO_REUSEPORT, "
            "which this challenge does not ask for: write the option plainly, so that a reader "
            "can tell).",
            next_step,
        )
    if not run_proof and cannot_prove is None and analysis.passed:
        return (
            "the analysis finds no problem, and the flag comes with the behaviour proof: it "
            "shows your server restarting at once.",
            f"Run it again without --no-run: sockdojo run {CHALLENGE} {path}",
        )
    if standing.proven and any(f.code == "reuseport-instead" for f in analysis.errors):
        verdict += (
            " Your server did restart at once: on Linux, SO_REUSEPORT also lets a new socket "
            "bind a port in TIME_WAIT when the old socket had it set too, by the same user. "
            "That is a side effect of a tool for sharing a port between running servers (it "
            "behaves differently on macOS and Windows), not the option that lets a server "
            "restart."
        )
    return verdict, next_step


def _run_proof(
    data: bytes, path: Path, port: int, timing: Timing | None, report: _Report
) -> ProofResult:
    report.say("Behaviour proof (your program runs, is cut off mid-connection, and restarts):")
    result = prove(data, name=path.name, port=port, timing=timing, on_step=report.step)
    if result.outcome == Outcome.SKIPPED:
        report.wrapped(f"skipped: {result.reason}.", "    ", first="  ")
    elif result.outcome == Outcome.ERROR:
        report.wrapped(
            f"could not be finished ({result.reason}). This is a problem on our side, not in "
            "your program. The flag needs the proof: run the check again, and if this keeps "
            "happening, please report it with these lines.",
            "    ",
            first="  ",
        )
    report.say()
    return result


def _verdict(
    analysis: Analysis,
    proof: ProofResult | None,
    diagnosis: Diagnosis | None,
    passed: bool,
) -> tuple[str, str]:
    if passed:
        if proof is not None and proof.passed:
            text = "passed. SO_REUSEADDR is on before bind(), and your server restarted at once."
            if proof.time_wait is False:
                text += (
                    " (The port was not left in TIME_WAIT this time, so the restart proved less;"
                    " accept() the connection so the next check can show more.)"
                )
        else:
            text = "passed. SO_REUSEADDR is on before bind() on your listening socket."
        return text, "Submit the flag with `sockdojo submit FLAG`."  # replaced by the flag
    errors = analysis.errors
    if errors:
        count = len(errors)
        text = f"not yet: {count} problem{'s' if count > 1 else ''} in your code."
        if proof is not None and proof.outcome == Outcome.ADDRESS_IN_USE:
            text += " The restart failed exactly as the analysis predicted."
        return text, errors[0].fix
    if diagnosis is not None:
        return f"not yet: {diagnosis.saw}", diagnosis.next_step
    return "not yet.", "Fix the problems above and run the check again."


def _proof_json(
    proof: ProofResult | None,
    run_proof: bool,
    analysis: Analysis,
    diagnosis: Diagnosis | None,
) -> dict[str, object]:
    if proof is None:
        reason = "--no-run" if not run_proof else "the file is not runnable Python"
        return {"ran": False, "outcome": Outcome.SKIPPED.value, "reason": reason}
    data = proof.as_dict()
    data["ran"] = proof.ran
    data["diagnosis"] = diagnosis.as_dict() if diagnosis is not None else None
    return data
