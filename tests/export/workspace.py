"""A pwn.college workspace, as far as a challenge can tell, for one run of an exported challenge.

Run as root inside fresh mount and network namespaces (`unshare --mount --propagation private
--net`); tests/export/platform.py starts it. What it sets up, as pwncollege/dojo's docker.py
does for a learner's container:

- the challenge folder copied, owned by root, every file and folder mode 4755, at /challenge;
- the learner's flag in /flag: root's, mode 0400, ending with a newline;
- the learner: an unprivileged uid with a home of their own; their programs run as that uid;
- /challenge/run started as exec-suid starts it: the interpreter from the script's shebang,
  real uid the learner's, effective uid root. (The real exec-suid is not installable here:
  `setpriv` sets the same ids. The image's /usr/local/bin/python has only the standard library;
  where it does not exist, Debian's python3 stands in, with -S so that it has no more.)
- the network namespace's loopback up, so that port 1337 is used for real and is free.

Prints one JSON document: the exit status and output of the run and of the learner's program.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sockdojo.net import kernel_view

PORT = 1337
STAND_IN_PYTHON = ["/usr/bin/python3", "-S"]


def sh(*command: str) -> None:
    subprocess.run(command, check=True, timeout=10)


def interpreter(run: Path) -> list[str]:
    """The command exec-suid would start, from the run script's first line."""
    shebang = run.read_text(encoding="utf-8").splitlines()[0]
    _, rest = shebang.split(" -- ", 1)
    program, *flags = rest.split()
    if not Path(program).exists():
        return [*STAND_IN_PYTHON, *flags]
    return [program, *flags]


def wait_listening(seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if kernel_view.listener_for("127.0.0.1", PORT) is not None:
            return True
        time.sleep(0.02)
    return False


def start(command: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), "LANG": "C.UTF-8", "NO_COLOR": "1"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def finish(process: subprocess.Popen[str], seconds: float) -> dict[str, object]:
    try:
        output, _ = process.communicate(timeout=seconds)
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate(timeout=10)
    return {"code": process.returncode, "output": output, "timed_out": timed_out}


def main() -> None:
    spec = json.loads(sys.argv[1])
    uid = int(spec["learner_uid"])
    seconds = float(spec["timeout"])
    sh("ip", "link", "set", "lo", "up")
    work = Path(tempfile.mkdtemp(prefix="sockdojo-workspace-"))
    try:
        challenge = work / "challenge"
        shutil.copytree(spec["challenge_folder"], challenge)
        sh("chown", "-R", "root:root", str(challenge))
        sh("chmod", "-R", "4755", str(challenge))
        flag = work / "flag"
        flag.write_text(spec["flag"] + "\n")
        flag.chmod(0o400)
        sh("mount", "--bind", str(challenge), "/challenge")
        sh("mount", "--bind", str(flag), "/flag")
        home = work / "home"
        home.mkdir(mode=0o700)
        os.chown(home, uid, uid)
        work.chmod(0o711)
        as_learner = ["setpriv", "--reuid", str(uid), "--regid", str(uid), "--clear-groups"]
        exec_suid = [
            "setpriv", "--ruid", str(uid), "--rgid", str(uid), "--clear-groups",
            "--euid", "0", "--egid", "0",
        ]  # fmt: skip
        # How /challenge/run is started: by exec-suid for the learner (the platform's way), by
        # root itself, or by the learner without exec-suid (a copy of the script, say).
        launcher = {"exec-suid": exec_suid, "root": [], "learner": as_learner}[spec["launch"]]
        run_command = [*launcher, *interpreter(Path("/challenge/run")), "/challenge/run"]
        for name, text in spec.get("files", {}).items():
            (home / name).write_text(text)
            os.chown(home / name, uid, uid)
        run_args = [str(home / a) if a in spec.get("files", {}) else a for a in spec["run_args"]]
        learner = spec.get("learner")
        result: dict[str, object] = {}
        if learner is None:
            result["run"] = finish(start([*run_command, *run_args], home), seconds)
        else:
            program = home / Path(learner["program"]).name
            shutil.copyfile(learner["program"], program)
            os.chown(program, uid, uid)
            learner_command = [*as_learner, *STAND_IN_PYTHON, "-u", str(program), *learner["args"]]
            if learner["first"]:  # the learner's server, then the checker
                mine = start(learner_command, home)
                result["listening"] = wait_listening(seconds)
                ours = start([*run_command, *run_args], home)
                result["run"] = finish(ours, seconds)
                with_suppress_kill(mine)
                result["learner"] = finish(mine, seconds)
            else:  # our server, then the learner's client
                ours = start([*run_command, *run_args], home)
                result["listening"] = wait_listening(seconds)
                mine = start(learner_command, home)
                result["learner"] = finish(mine, seconds)
                result["run"] = finish(ours, seconds)
        print(json.dumps(result))
    finally:
        subprocess.run(["umount", "/challenge"], check=False, timeout=10)
        subprocess.run(["umount", "/flag"], check=False, timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def with_suppress_kill(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)


if __name__ == "__main__":
    main()
