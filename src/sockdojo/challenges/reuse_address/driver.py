"""`python -m sockdojo.challenges.reuse_address.driver`: runs the behaviour proof where the
learner's program runs (inside its network namespace, or on the host as a fallback).

Reads the program from stdin and writes the lines of `proof_protocol` to stdout. Only
`proof.prove()` is meant to start it. The program it starts is confined further (see
`sockdojo.sandbox`): its own PID namespace, so it cannot see, signal or trace this driver, nor
reach the pipes to `prove()`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from sockdojo.challenges.reuse_address.analysis import MAX_SOURCE_BYTES
from sockdojo.challenges.reuse_address.proof_protocol import (
    Outcome,
    ProofResult,
    Step,
    Timing,
    group_line,
    result_line,
    step_line,
)
from sockdojo.challenges.reuse_address.proof_steps import run_steps
from sockdojo.net import kernel_view
from sockdojo.sandbox import (
    Limits,
    PidsCgroup,
    Sandbox,
    SandboxedProcess,
    SandboxError,
    become_subreaper,
    kill_descendants,
)
from sockdojo.sandbox.isolation import Confinement

PR_SET_DUMPABLE = 4


def _emit(line: str) -> None:
    sys.stdout.write(line)
    sys.stdout.flush()


def _stop_on_signal(number: int, frame: FrameType | None) -> None:
    # Unwind through the `finally` blocks, which kill the program and everything it started.
    raise SystemExit(128 + number)


def _not_dumpable() -> None:
    """No process of our user may trace us or open our /proc files (memory, pipes): on the
    host fallback the program runs as that user; elsewhere it cannot see us at all anyway."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sockdojo-reuse-address-driver")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--timing", required=True)
    parser.add_argument("--limits", required=True)
    parser.add_argument("--cgroup")
    parser.add_argument("--namespace-init", action="store_true")
    parser.add_argument("--host", action="store_true")
    # What the launching side found this machine allows (host runs only: inside namespaces of
    # our own the driver's view differs from its parent's, so it probes for itself there).
    parser.add_argument("--confinement", choices=[kind.name for kind in Confinement])
    parser.add_argument("--no-kernel-view", action="store_true")
    args = parser.parse_args(argv)
    if args.no_kernel_view:
        kernel_view.go_blind()

    _not_dumpable()
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, _stop_on_signal)
    program = sys.stdin.buffer.read(MAX_SOURCE_BYTES + 1)
    timing = Timing(**json.loads(args.timing))
    limits = Limits(**json.loads(args.limits))
    if args.host:
        # Orphans of the program (double forks, setsid) are handed to us instead of init, so
        # `kill_descendants` below still finds them.
        become_subreaper()

    def started(process: SandboxedProcess) -> None:
        _emit(group_line(process.pid))

    def step(item: Step) -> None:
        _emit(step_line(item))

    try:
        with Sandbox(
            program,
            name=args.name,
            limits=limits,
            workdir=Path(args.workdir),
            cgroup=PidsCgroup.existing(Path(args.cgroup)) if args.cgroup else None,
            contain_forks=False,  # the cgroup, if any, is the caller's
            die_with_parent=args.host,
            namespace_init=args.namespace_init,
            confinement=Confinement[args.confinement] if args.confinement else None,
            on_start=started,
        ) as box:
            result = run_steps(box, args.port, timing, step, alone=not args.host)
    except SandboxError as error:
        result = ProofResult(Outcome.ERROR, reason=str(error))
    except Exception as error:  # our bug: report it as ours, never as the learner's mistake
        reason = f"internal error: {type(error).__name__}: {error}"
        result = ProofResult(Outcome.ERROR, reason=reason)
    finally:
        if args.host:
            kill_descendants(os.getpid())
    _emit(result_line(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
