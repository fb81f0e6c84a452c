"""The deploy/ files an instructor copies: Caddy accepts the Caddyfile, and the systemd unit
starts `sockdojo serve` with options it has."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from support import sockdojo_command

DEPLOY = Path(__file__).parent.parent.parent / "deploy"


def test_caddy_accepts_the_caddyfile() -> None:
    caddy = shutil.which("caddy")
    if caddy is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but caddy is missing (scripts/test installs it)")
        pytest.skip("needs caddy: apt-get install caddy")
    checked = subprocess.run(
        [caddy, "validate", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert "Valid configuration" in checked.stdout + checked.stderr


def test_the_unit_starts_serve_with_options_it_has() -> None:
    unit = (DEPLOY / "sockdojo.service").read_text()
    command = re.search(r"^ExecStart=\S+/sockdojo serve (.*)$", unit, re.M)
    assert command is not None
    options = re.findall(r"--[a-z-]+", command.group(1))
    assert "--secure-cookies" in options
    usage = subprocess.run(
        sockdojo_command("serve", "--help"), capture_output=True, text=True, timeout=60, check=True
    ).stdout
    for option in options:
        assert option in usage, option
    assert "--public-url" in usage
    assert re.search(r"^Environment=SOCKDOJO_PUBLIC_URL=https://", unit, re.M)
