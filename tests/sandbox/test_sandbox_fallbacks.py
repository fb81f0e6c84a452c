"""Where the machine allows less, the sandbox still runs the program and says what is shared.

The restriction is real: a user namespace of the test's own where no further user namespace may
be made (`user.max_user_namespaces` = 0 there), as in containers that forbid them. The proof
still gets its private network (root of that namespace may make one), but the program cannot
become a throw-away user there, so it gets the fallback, and the run says so.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sockdojo.sandbox import LaunchPolicy, Limits
from sockdojo.sandbox.launcher import LaunchConfig

CORPUS = Path(__file__).resolve().parents[1] / "challenges" / "reuse_address" / "corpus"

PROVE = textwrap.dedent(
    """
    import json, sys
    from sockdojo.challenges.reuse_address.proof import Timing, prove
    steps = []
    result = prove(
        sys.stdin.buffer.read(), name=sys.argv[1], placement="private",
        timing=Timing(listen=1.5, restart=3.0), on_step=steps.append,
    )
    print(json.dumps({"result": result.as_dict(), "texts": [s.text for s in steps]}))
    """
)


def _in_a_namespace_without_user_namespaces(*argv: str, stdin: bytes) -> str:
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1)")
    forbid = 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"'
    command = ["unshare", "--user", "--map-root-user", "--", "sh", "-c", forbid, "sh", *argv]
    completed = subprocess.run(command, input=stdin, capture_output=True, timeout=60, check=False)
    if completed.returncode != 0 and b"max_user_namespaces" in completed.stderr:
        pytest.skip("this machine allows no user namespace to restrict")
    assert completed.returncode == 0, completed.stderr.decode()
    return completed.stdout.decode()


@pytest.mark.netns
@pytest.mark.usefixtures("needs_netns")
def test_with_fewer_walls_the_proof_runs_and_says_what_is_shared(marked_name: str) -> None:
    program = (CORPUS / "ok_basic.py").read_bytes()
    output = _in_a_namespace_without_user_namespaces(
        sys.executable, "-c", PROVE, marked_name, stdin=program
    )
    report = json.loads(output)
    result = report["result"]
    assert result["outcome"] == "bound", result
    assert "it runs as the user who runs sockdojo" in result["not_isolated"]
    assert any(text.startswith("this machine allows fewer walls") for text in report["texts"])


def test_each_policy_says_what_it_leaves_shared() -> None:
    limits = Limits()
    assert LaunchPolicy.confined(limits, network=True).not_isolated() == []
    nobody = LaunchPolicy.as_nobody(limits).not_isolated()
    assert "it runs as the user who runs sockdojo" not in nobody
    assert any("files" in item for item in nobody)
    shared = LaunchPolicy.limits_only(limits).not_isolated()
    assert "it runs as the user who runs sockdojo" in shared
    assert any("total" in item for item in shared)


def test_invalid_combinations_are_refused() -> None:
    with pytest.raises(ValueError, match="PID namespace"):
        LaunchPolicy(Limits(), False, False, False, True, True)
    with pytest.raises(ValueError, match="nobody"):
        LaunchPolicy(Limits(), False, False, True, True, False)


def test_the_launcher_reads_back_what_the_policy_wrote(tmp_path: Path) -> None:
    (tmp_path / "server.py").write_text("pass\n")
    policy = LaunchPolicy.confined(Limits(disk_bytes=1 << 20), network=True)
    command = policy.command(["/bin/true"], directory=tmp_path)
    config = LaunchConfig.from_json(command[-1])
    assert config.to_json() == command[-1]
    assert config.root is not None
    assert (config.root.workdir, config.root.copy) == (str(tmp_path), ["server.py"])
    assert config.root.quota_bytes == 1 << 20
    assert (config.network, config.pid_namespace, config.become_nobody) == (True, True, True)


def test_a_confinement_given_by_another_process_never_loses_the_private_network() -> None:
    """The launching side's confinement (`Sandbox(confinement=...)`) is taken only where it
    gives what is asked: a program that must have a private network never runs on the host's
    because the other side found only `nobody` would do."""
    from sockdojo.sandbox.isolation import Confinement, confinement, program_policy

    given = program_policy(
        Limits(), network=True, cgroup_procs=None, die_with_parent=False, kind=Confinement.NOBODY
    )
    probed = confinement(True)
    if probed is None:
        assert given is None  # no private network here: refused, as without `kind`
    else:
        assert given is not None and given.network
    kept = program_policy(
        Limits(), network=False, cgroup_procs=None, die_with_parent=False, kind=Confinement.LIMITS
    )
    assert kept is not None and not kept.network and not kept.nobody
