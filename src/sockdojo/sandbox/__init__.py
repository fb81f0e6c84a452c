"""Run a learner's program in a throw-away sandbox: limits, a time limit, walls, no leftovers.

`Sandbox` (start a program, perhaps several times, and kill everything at the end) and
`run_python` (run one to completion) are the API; `private_network()` says whether this machine
can give a command its own network namespace. `launcher` is the process that applies a
`LaunchPolicy`; it runs on its own with `python -I -S`.
"""

from sockdojo.sandbox.cgroup import PidsCgroup
from sockdojo.sandbox.isolation import PrivateNetwork, private_network
from sockdojo.sandbox.limits import Limits
from sockdojo.sandbox.policy import LaunchPolicy
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
    "LaunchPolicy",
    "Limits",
    "OutputCapture",
    "PidsCgroup",
    "PrivateNetwork",
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
