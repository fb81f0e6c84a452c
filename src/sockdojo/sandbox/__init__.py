"""Run a learner's program in a throw-away sandbox: limits, a time limit, no leftovers.

`Sandbox` (start a program, perhaps several times, and kill everything at the end) and
`run_python` (run one to completion) are the API; `private_network()` says whether this machine
can give a program its own network namespace.
"""

from sockdojo.sandbox.cgroup import PidsCgroup
from sockdojo.sandbox.isolation import Isolation, private_network
from sockdojo.sandbox.limits import Limits
from sockdojo.sandbox.process import (
    OutputCapture,
    RunResult,
    Sandbox,
    SandboxedProcess,
    SandboxError,
    become_subreaper,
    describe_status,
    kill_descendants,
    run_python,
)

__all__ = [
    "Isolation",
    "Limits",
    "OutputCapture",
    "PidsCgroup",
    "RunResult",
    "Sandbox",
    "SandboxError",
    "SandboxedProcess",
    "become_subreaper",
    "describe_status",
    "kill_descendants",
    "private_network",
    "run_python",
]
