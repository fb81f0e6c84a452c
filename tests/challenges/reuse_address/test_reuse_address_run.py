"""`run_reuse_address` end to end: exit codes, the transcript, JSON, the flag, usage errors."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from sockdojo.challenges.reuse_address import run_reuse_address
from sockdojo.challenges.reuse_address import runner as runner_module
from sockdojo.challenges.reuse_address.analysis import MAX_SOURCE_BYTES
from sockdojo.challenges.reuse_address.interpreter import Interpreter
from sockdojo.challenges.reuse_address.proof import Outcome, ProofResult, Timing

CORPUS = Path(__file__).parent / "corpus"
FLAG = "sockdojo{0123456789abcdef0123456789abcdef}"
FAST = Timing(listen=1.5, restart=3.0)


class Run:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.flags_minted = 0

    def mint(self) -> str:
        self.flags_minted += 1
        return FLAG

    def __call__(self, path: Path, *, proof: bool = False, as_json: bool = False) -> int:
        return run_reuse_address(
            path,
            run_proof=proof,
            as_json=as_json,
            mint_flag=self.mint,
            echo=self.lines.append,
            timing=FAST,
        )

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def document(self) -> dict[str, object]:
        assert len(self.lines) == 1, "JSON mode prints exactly one document"
        data = json.loads(self.lines[0])
        assert isinstance(data, dict)
        return data


def assert_plain(text: str) -> None:
    assert "Traceback" not in text
    assert "\x1b" not in text  # no colour codes, ever: NO_COLOR holds trivially


@pytest.mark.netns
@pytest.mark.usefixtures("needs_netns")
def test_a_correct_server_passes_with_its_flag_on_a_line_of_its_own() -> None:
    run = Run()
    assert run(CORPUS / "ok_basic.py", proof=True) == 0
    assert FLAG in run.lines  # the flag alone on its line, easy to copy
    assert run.flags_minted == 1
    text = run.text
    assert "Verdict: passed" in text
    for step in ("listens on 127.0.0.1:1337", "killed it", "TIME_WAIT", "bound 127.0.0.1:1337"):
        assert step in text
    assert "Next: " in text
    assert_plain(text)


@pytest.mark.netns
@pytest.mark.usefixtures("needs_netns")
def test_a_missing_option_fails_and_shows_the_real_error() -> None:
    run = Run()
    assert run(CORPUS / "missing_option.py", proof=True) == 1
    text = run.text
    assert "error option-missing at 4:1" in text
    assert '    4 | s.bind(("127.0.0.1", 1337))' in text
    assert "OSError: [Errno 98] Address already in use" in text
    assert "Verdict: not yet" in text
    assert "Next: Add `s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)`" in text
    assert run.flags_minted == 0
    assert FLAG not in text
    assert_plain(text)


@pytest.mark.netns
@pytest.mark.usefixtures("needs_netns")
def test_json_is_one_document_with_everything() -> None:
    run = Run()
    assert run(CORPUS / "after_bind.py", proof=True, as_json=True) == 1
    data = run.document()
    assert data["passed"] is False
    assert data["exit_code"] == 1
    assert "flag" not in data
    analysis = data["analysis"]
    assert isinstance(analysis, dict)
    (finding,) = analysis["findings"]
    assert (finding["code"], finding["line"], finding["column"]) == ("option-after-bind", 5, 1)
    assert finding["fix"]
    proof = data["proof"]
    assert isinstance(proof, dict)
    assert proof["ran"] is True
    assert proof["outcome"] == "address-in-use"
    assert proof["error_line"] == "OSError: [Errno 98] Address already in use"
    assert [s["name"] for s in proof["steps"]][-2:] == ["restarted", "died"]
    assert proof["diagnosis"]["code"] == "proof-address-in-use"


def test_no_run_gives_no_flag_where_the_proof_could_run() -> None:
    run = Run()
    assert run(CORPUS / "ok_socketserver_subclass.py", as_json=True) == 1
    data = run.document()
    assert "flag" not in data
    assert data["proof"] == {"ran": False, "outcome": "skipped", "reason": "--no-run"}
    analysis = data["analysis"]
    assert isinstance(analysis, dict)
    codes = [f["code"] for f in analysis["findings"]]
    assert codes == ["via-socketserver"]
    assert "without --no-run" in str(data["next_step"])
    assert run.flags_minted == 0
    run = Run()
    assert run(CORPUS / "reuseport.py") == 1
    assert "error reuseport-instead at 4:1" in run.text


def test_no_run_judges_on_the_analysis_where_the_proof_cannot_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A machine with no private network namespace and the port in use: the proof could not
    # run here at all, so the analysis decides, and says so.
    monkeypatch.setattr(runner_module, "private_network", lambda: None)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        lines: list[str] = []
        code = run_reuse_address(
            CORPUS / "ok_with_block.py",
            run_proof=False,
            as_json=False,
            mint_flag=lambda: FLAG,
            echo=lines.append,
            port=port,
        )
    assert code == 0
    assert FLAG in lines
    assert any("could not run here anyway" in line for line in lines)


@pytest.mark.netns
@pytest.mark.usefixtures("needs_netns")
def test_an_option_the_analysis_cannot_follow_is_settled_by_the_proof() -> None:
    run = Run()
    assert run(CORPUS / "dynamic_option.py", proof=True) == 0
    assert "error cannot-follow" in run.text
    assert "the behaviour proof settles it" in " ".join(run.text.split())
    assert FLAG in run.lines


@pytest.mark.netns
@pytest.mark.usefixtures("needs_netns")
def test_reuseport_that_restarts_is_explained_and_still_fails() -> None:
    run = Run()
    assert run(CORPUS / "reuseport.py", proof=True) == 1
    text = " ".join(run.text.split())
    assert "SO_REUSEPORT also lets a new socket bind a port in TIME_WAIT" in text
    assert run.flags_minted == 0


def test_syntax_errors_show_the_line_and_a_caret_and_skip_the_proof() -> None:
    run = Run()
    assert run(CORPUS / "syntax_error.py", proof=True) == 1
    lines = run.lines
    index = lines.index('    5 | s.bind(("127.0.0.1", 1337)')
    assert lines[index + 1] == " " * len("    5 | ") + " " * 6 + "^"
    assert any("Behaviour proof: skipped" in line for line in lines)
    assert_plain(run.text)


def test_a_caret_under_tabs_stays_aligned(tmp_path: Path) -> None:
    program = tmp_path / "tabs.py"
    program.write_text("if True:\n\tx = (1,\n")
    run = Run()
    assert run(program) == 1
    caret_lines = [line for line in run.lines if line.rstrip().endswith("^")]
    assert caret_lines
    assert "\t" in caret_lines[0]


@pytest.mark.parametrize(
    ("name", "code"),
    [("empty.py", "file-empty"), ("binary.png", "file-not-text"), ("latin1.py", "file-not-text")],
)
def test_odd_files_are_findings_not_crashes(name: str, code: str) -> None:
    run = Run()
    assert run(CORPUS / name, proof=True) == 1
    assert f"error {code}" in run.text
    assert_plain(run.text)


def test_a_huge_file_is_capped_and_never_read_whole(tmp_path: Path) -> None:
    program = tmp_path / "huge.py"
    with program.open("wb") as f:
        f.truncate(50 * MAX_SOURCE_BYTES)  # sparse: big on paper, cheap on disk
    run = Run()
    assert run(program, proof=True) == 1
    assert "error file-too-large" in run.text


@pytest.mark.parametrize("as_json", [False, True])
def test_usage_errors_exit_2(tmp_path: Path, as_json: bool) -> None:
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)
    for path in (tmp_path / "missing.py", tmp_path, fifo):
        run = Run()
        assert run(path, as_json=as_json) == 2
        assert run.flags_minted == 0
        if as_json:
            assert run.document()["error"] == "usage"
        else:
            assert run.text.startswith("sockdojo run reuse-address: ")
        assert_plain(run.text)


def test_an_unreadable_file_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    program = tmp_path / "server.py"
    program.write_text("import socket\n")

    def refuse(self: Path, *args: object, **kwargs: object) -> object:
        raise PermissionError(13, "Permission denied")

    # Root reads anything, so chmod 000 proves nothing here: refuse the open itself.
    monkeypatch.setattr(Path, "open", refuse)
    run = Run()
    assert run(program) == 2
    assert "Permission denied" in run.text


@pytest.mark.parametrize(
    ("result", "program", "status", "said", "unsaid"),
    [
        # Our own failure: not held against the learner (no finding, no "not yet"), and not a
        # flag from the static analysis alone either: a program that breaks the proof from
        # inside must not earn one.
        (
            ProofResult(Outcome.ERROR, reason="internal error: boom"),
            "ok_basic.py",
            3,
            ["problem on our side", "not decided"],
            ["not yet"],
        ),
        (
            ProofResult(Outcome.SKIPPED, reason="port 1337 has a listener on this machine"),
            "missing_option.py",
            1,
            ["skipped: port 1337 has a listener"],
            [],
        ),
    ],
    ids=["our-failure", "skipped"],
)
def test_a_proof_that_decides_nothing_says_why_and_earns_no_flag(
    monkeypatch: pytest.MonkeyPatch,
    result: ProofResult,
    program: str,
    status: int,
    said: list[str],
    unsaid: list[str],
) -> None:
    def undecided(*args: object, **kwargs: object) -> ProofResult:
        return result

    monkeypatch.setattr(runner_module, "prove", undecided)
    run = Run()
    assert run(CORPUS / program, proof=True) == status
    for text in said:
        assert text in run.text
    for text in unsaid:
        assert text not in run.text
    assert run.flags_minted == 0


@pytest.mark.netns
@pytest.mark.usefixtures("needs_netns")
def test_ctrl_c_while_printing_stops_everything(marked_name: str, tmp_path: Path) -> None:
    program = tmp_path / marked_name
    program.write_bytes((CORPUS / "ok_basic.py").read_bytes())

    def echo(line: str) -> None:
        if "listens on" in line:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_reuse_address(
            program, run_proof=True, as_json=False, mint_flag=lambda: FLAG, echo=echo, timing=FAST
        )
    # `marked_name` checks that no process of the program is left.


@pytest.mark.parametrize(
    ("result", "status", "said"),
    [
        # No proof: nothing decides the run, and it is ours, never "a problem in your code".
        (None, 3, ["not decided: the analysis failed on our side", "bug in sockdojo"]),
        (ProofResult(Outcome.SKIPPED, reason="no namespace"), 3, ["not decided"]),
        # The program did fail to restart: that is the learner's, whatever the analysis did.
        (ProofResult(Outcome.ADDRESS_IN_USE, time_wait=True), 1, ["not yet"]),
        # It restarted at once on a port in TIME_WAIT: the proof settles it.
        (ProofResult(Outcome.BOUND, time_wait=True), 0, ["passed"]),
    ],
    ids=["no-proof", "proof-skipped", "restart-failed", "proof-settles"],
)
def test_an_analysis_that_breaks_on_a_file_is_our_error_unless_the_proof_decides(
    monkeypatch: pytest.MonkeyPatch, result: ProofResult | None, status: int, said: list[str]
) -> None:
    def broken(self: Interpreter) -> None:
        raise KeyError("a construct we do not handle")

    monkeypatch.setattr(Interpreter, "run", broken)
    monkeypatch.setattr(runner_module, "prove", lambda *args, **kwargs: result)
    run = Run()
    assert run(CORPUS / "ok_basic.py", proof=result is not None) == status
    assert "The analysis itself went wrong on this file" in run.text
    for text in said:
        assert text in run.text
    if status != 1:
        assert "in your code" not in run.text
    assert run.flags_minted == (1 if status == 0 else 0)
