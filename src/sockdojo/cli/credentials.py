"""Where a logged-in CLI keeps its class server and API token.

In the user's config directory (platformdirs), never in the data directory: the data directory
belongs to the local dojo (and may be shared with a local web dojo), the login to the person.
The file is created with mode 0600 from the start (no moment where others could read it).
`SOCKDOJO_CONFIG` names another directory (tests, several logins side by side);
`SOCKDOJO_SERVER` and `SOCKDOJO_TOKEN` override what is stored (scripts, CI).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "login.json"


@dataclass(frozen=True)
class Login:
    server: str
    token: str
    account: str | None = None
    from_environment: bool = False


def config_directory() -> Path:
    configured = os.environ.get("SOCKDOJO_CONFIG")
    if configured:
        return Path(configured)
    from platformdirs import user_config_dir

    return Path(user_config_dir("sockdojo", appauthor=False))


def login_file() -> Path:
    return config_directory() / FILE_NAME


def normalise_server(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        url = "https://" + url
    return url


def _stored() -> dict[str, str]:
    try:
        data = json.loads(login_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def current() -> Login | None:
    """The login in force: the environment's over the stored one; None when logged out."""
    stored = _stored()
    server = os.environ.get("SOCKDOJO_SERVER") or stored.get("server")
    token = os.environ.get("SOCKDOJO_TOKEN") or stored.get("token")
    if not server or not token:
        return None
    from_environment = "SOCKDOJO_TOKEN" in os.environ or "SOCKDOJO_SERVER" in os.environ
    return Login(normalise_server(server), token.strip(), stored.get("account"), from_environment)


def save(login: Login) -> Path:
    path = login_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = {"server": login.server, "token": login.token, "account": login.account or ""}
    temporary = path.with_name(f".{FILE_NAME}.{os.getpid()}")
    temporary.unlink(missing_ok=True)  # a leftover could have another mode
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, json.dumps(data, indent=2).encode())
    finally:
        os.close(fd)
    os.replace(temporary, path)
    return path


def forget() -> bool:
    """Remove the stored login; False when there was none."""
    try:
        login_file().unlink()
    except FileNotFoundError:
        return False
    return True
