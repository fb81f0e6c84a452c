"""Each challenge once on the real 127.0.0.1:1337, inside a network namespace of its own."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

SCENARIO = Path(__file__).with_name("netns_scenario.py")


def _namespaces_work() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-n", "ip", "link", "set", "lo", "up"], capture_output=True, check=False
    )
    return probe.returncode == 0


pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(not _namespaces_work(), reason="needs root (or user namespaces) and ip"),
]


@pytest.mark.parametrize("challenge", ["client", "server", "server-loop", "eight-ball"])
def test_challenge_on_port_1337(
    challenge: str, home: Path, cli: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    result = subprocess.run(
        [
            "unshare",
            "-n",
            "sh",
            "-c",
            f'ip link set lo up && exec "{sys.executable}" "{SCENARIO}" {challenge}',
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    flag = result.stdout.strip().splitlines()[-1]
    # The flag earned in the namespace is the learner's own, and the dojo accepts it.
    submitted = cli("submit", flag)
    assert submitted.returncode == 0, submitted.stdout
