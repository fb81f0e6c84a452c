"""`/challenge/run` on pwn.college: run one challenge as `sockdojo run` does, with `/flag`.

The exported `run` script of each challenge calls `main(challenge_id)`. It runs as root (the
platform's exec-suid), so it reads `/flag` first, then drops to the learner who started it and
only then touches anything of the learner's: their file, their server, their program. What
follows is what `sockdojo run` does, through the same entry points (checkers, servers, the
reuse-address runner), with the same transcripts, diagnoses and exit statuses; only the words
for "run it again" and "submit it" are the platform's.

Standard library only: this module is vendored into the export, where nothing else is installed.
"""

from __future__ import annotations

import argparse
import os
import pwd
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from sockdojo.challenges import registry
from sockdojo.challenges.dispatch import DEFAULT_HOST, DEFAULT_PORT, HIGHEST_PORT, LOWEST_PORT
from sockdojo.challenges.run_output import RunOutput
from sockdojo.errors import InternalError, MachineProblem, SockdojoError
from sockdojo.export.file_flag import FileFlagAuthority

FLAG_PATH = Path("/flag")
RUN_COMMAND = "/challenge/run"
# docs/challenge.md (pwncollege/dojo): the DOJO controls the `hacker` user, UID 1000.
PLATFORM_USER = "hacker"
SUBMIT_HERE = "submit it in the flag box of this challenge's page."


def say(text: str = "") -> None:
    print(text, flush=True)


def say_error(error: SockdojoError) -> None:
    """Like `sockdojo`'s main(): one sentence on stderr, never a traceback."""
    print("ERROR  " + error.render(), file=sys.stderr, flush=True)


def platform_words(text: str) -> str:
    """Our messages with the platform's command: `/challenge/run`, not `sockdojo run …`."""
    return _OUR_RUN.sub(RUN_COMMAND, text)


# Longest id first, so that "server-loop" is never read as "server" followed by "-loop".
_OUR_RUN = re.compile(
    r"sockdojo\s+run\s+(?:"
    + "|".join(re.escape(i) for i in sorted(registry.BY_ID, key=len, reverse=True))
    + r")(?![\w-])"
)


def arguments(challenge: registry.Challenge, argv: Sequence[str]) -> argparse.Namespace:
    """The options `sockdojo run` takes for this challenge (registry.Runs), and --port."""
    runs = challenge.runs
    assert runs is not None
    parser = argparse.ArgumentParser(prog=RUN_COMMAND, description=challenge.summary)
    if "FILE" in runs.options:
        parser.add_argument("file", metavar="FILE", help="your server program (a .py file)")
    if "--host" in runs.options:
        parser.add_argument("--host", default=DEFAULT_HOST, help="address to use")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to use")
    if "--once" in runs.options:
        parser.add_argument("--once", action="store_true", help="stop after giving out a flag")
    if "--no-run" in runs.options:
        parser.add_argument("--no-run", action="store_true", help="only analyze, do not run FILE")
    if "--json" in runs.options:
        parser.add_argument("--json", action="store_true", help="print JSON")
    options = parser.parse_args(list(argv))
    if not LOWEST_PORT <= options.port <= HIGHEST_PORT:
        parser.error(f"--port must be between {LOWEST_PORT} and {HIGHEST_PORT}")
    return options


def learner_ids() -> tuple[int, int]:
    """Who started us: the real uid of the suid run (the platform's `hacker` if that is root)."""
    uid, gid = os.getuid(), os.getgid()
    if uid != 0:
        return uid, gid
    try:
        entry = pwd.getpwnam(PLATFORM_USER)
    except KeyError:
        raise MachineProblem(
            f"{RUN_COMMAND} was started by root and there is no {PLATFORM_USER!r} user to run "
            "the challenge as: start it as the learner."
        ) from None
    return entry.pw_uid, entry.pw_gid


def drop_to_learner() -> None:
    """Become the learner for good (real, effective and saved ids), so that nothing started
    from here on (the reuse-address proof runs the learner's program) can read `/flag` or
    become root again. A change of effective uid also makes the kernel mark us non-dumpable,
    so the learner's processes cannot ptrace us or read our memory for the flag we hold."""
    if os.geteuid() != 0:
        return  # not set-uid: nothing to drop (a learner running a copy of the script)
    uid, gid = learner_ids()
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.geteuid() == 0 or (os.getegid() == 0 and gid != 0):
        raise InternalError(f"{RUN_COMMAND} could not drop root before running the challenge.")


def main(challenge_id: str, argv: Sequence[str] | None = None) -> None:
    """Run the challenge; errors of ours end in one sentence and their exit status."""
    challenge = registry.BY_ID[challenge_id]
    options = arguments(challenge, sys.argv[1:] if argv is None else argv)
    try:
        authority = FileFlagAuthority(FLAG_PATH)
        authority.mint()  # read now, while we are root: /flag is root's, mode 0400
        drop_to_learner()
        code = run(challenge, options, authority)
    except SockdojoError as error:
        say_error(error)
        code = error.exit_code
    except KeyboardInterrupt:
        code = 130
    except Exception as error:
        say_error(InternalError.from_exception(error, during=RUN_COMMAND))
        code = InternalError.exit_code
    sys.exit(code)


def run(challenge: registry.Challenge, options: argparse.Namespace, flag: FileFlagAuthority) -> int:
    if challenge.runs is registry.Runs.YOUR_PROGRAM:
        return run_reuse_address(options, flag)
    if challenge.runs is registry.Runs.OUR_SERVER:
        return serve_challenge(challenge, options, flag)
    return check_challenge(challenge, options, flag)


OUTPUT = RunOutput(say, submit=SUBMIT_HERE, words=platform_words)


def serve_challenge(
    challenge: registry.Challenge, options: argparse.Namespace, flag: FileFlagAuthority
) -> int:
    from sockdojo.challenges import dispatch
    from sockdojo.challenges.serving import bind_failure, serve
    from sockdojo.net.accept_loop import listening_socket

    host, port, once = options.host, options.port, options.once
    try:
        sock = listening_socket(host, port)
    except OSError as error:
        return OUTPUT.cannot_serve(challenge, bind_failure(host, port, error))
    factory = dispatch.server_protocol(challenge, flag.prefix)
    OUTPUT.serving(challenge, host, port, once)
    report = serve(
        sock,
        factory,
        lambda text: say(platform_words(text)),
        flag=flag.flag_line,
        once=once,
        udp_hint=dispatch.udp_hint(challenge),
    )
    OUTPUT.served(report)
    return 0


def check_challenge(
    challenge: registry.Challenge, options: argparse.Namespace, flag: FileFlagAuthority
) -> int:
    from sockdojo.challenges import dispatch
    from sockdojo.net.transcript import Transcript

    host, port = options.host, options.port
    OUTPUT.checking(challenge, host, port)
    transcript = Transcript(echo=lambda text: say(platform_words(text)))
    check = dispatch.checker(challenge)
    return OUTPUT.verdict(check(host, port, flag.flag_line, flag.prefix, transcript))


def run_reuse_address(options: argparse.Namespace, flag: FileFlagAuthority) -> int:
    from sockdojo.challenges.reuse_address import run_reuse_address as run_it

    echo = _ReuseAddressEcho(as_json=options.json)
    return run_it(
        Path(options.file),
        run_proof=not options.no_run,
        as_json=options.json,
        mint_flag=flag.mint,
        echo=echo,
        port=options.port,
    )


class _ReuseAddressEcho:
    """The reuse-address runner's lines in the platform's words.

    Its last step reads "Next: Submit it: sockdojo submit '<flag>'", perhaps wrapped over
    several lines: that step (and its continuation lines) becomes the platform's.
    """

    def __init__(self, *, as_json: bool) -> None:
        self.as_json = as_json
        self._in_submit_step = False

    def __call__(self, text: str) -> None:
        if self.as_json:
            say(text)
            return
        if self._in_submit_step and text.startswith("  "):
            return
        self._in_submit_step = text.startswith("Next: Submit it: sockdojo submit")
        if self._in_submit_step:
            say(f"Next: {SUBMIT_HERE[:1].upper()}{SUBMIT_HERE[1:]}")
            return
        say(platform_words(text))
