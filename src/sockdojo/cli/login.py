"""`sockdojo login`, `logout`, `whoami`, and the scoreboard of the dojo the CLI acts on.

Login uses the device authorization flow (RFC 8628): the server hands out a short user code,
the learner approves it in a browser where they are signed in, and this command polls until
the server hands over a token.
"""

from __future__ import annotations

import enum
import os
import sys
import time
from typing import TYPE_CHECKING

import click

from sockdojo.cli.ui import paint, say, say_json, say_shape

if TYPE_CHECKING:
    import httpx

    from sockdojo.api_shapes import DeviceCode

# No single poll loop may outlive the device code (10 minutes) by much, whatever the server says.
LONGEST_WAIT = 15 * 60


def _headless() -> bool:
    """No browser to open: CI, an SSH session, a Linux box without a display."""
    if os.environ.get("CI"):
        return True
    if sys.platform.startswith("linux"):
        return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return False


def _loopback(url: str) -> bool:
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    return host == "localhost" or host.startswith("127.") or host == "::1"


@click.command("login")
@click.argument("url")
@click.option("--with-token", is_flag=True, help="Read an API token (one line) from stdin.")
@click.option("--no-browser", is_flag=True, help="Do not open a browser; print the URL only.")
def login(url: str, with_token: bool, no_browser: bool) -> None:
    """Log in to a class server: your runs then get their flags from it.

    \b
    sockdojo login https://dojo.example.org        approve in the browser
    sockdojo login URL --with-token < token.txt    a token from your account page
    """
    from sockdojo.cli import credentials
    from sockdojo.cli.remote import ClassServer

    server_url = credentials.normalise_server(url)
    if server_url.startswith("http://") and not _loopback(server_url):
        say(
            paint("Warning:", "yellow", bold=True)
            + f" {server_url} is plain HTTP: your token would cross the network unencrypted."
            " Ask for the https:// address."
        )
    if with_token:
        token = sys.stdin.readline().strip()
        if not token:
            raise click.UsageError("--with-token reads the token from stdin; it was empty")
    else:
        token = _device_flow(server_url, open_browser=not no_browser and not _headless())
    server = ClassServer(credentials.Login(server_url, token))
    try:
        name = server.whoami()
    finally:
        server.close()
    path = credentials.save(credentials.Login(server_url, token, name))
    say(paint("Logged in", "green", bold=True) + f" to {server_url} as {name}.")
    say(f"  Saved in {path} (only you can read it). `sockdojo logout` forgets it.")
    say("  Now `sockdojo run CHALLENGE` gets its flags from the class server.")


def _device_flow(server_url: str, *, open_browser: bool) -> str:
    """The token the learner approves in a browser, by RFC 8628's device authorization flow."""
    code = _start_device_flow(server_url)
    _show_code(code, open_browser=open_browser)
    return _poll_for_token(server_url, code)


def _post_device(server_url: str, path: str, data: dict[str, str]) -> httpx.Response:
    """POST a form to the device endpoints. No token yet, so not through `ClassServer`."""
    import httpx

    from sockdojo.cli.remote import PREFIX, TIMEOUT, ServerUnreachable, why

    try:
        return httpx.post(f"{server_url}{PREFIX}/device/{path}", data=data, timeout=TIMEOUT)
    except httpx.HTTPError as error:
        raise ServerUnreachable(
            f"The class server {server_url} could not be reached: {why(error)}. "
            "Check the address, or try again when it is back."
        ) from None


def _start_device_flow(server_url: str) -> DeviceCode:
    """Ask for a code pair. Read leniently, with RFC 8628's defaults for what may be missing;
    `expires_in` is then how long this CLI waits, capped at LONGEST_WAIT."""
    from sockdojo.api_shapes import DeviceCode
    from sockdojo.cli.remote import client_host, client_platform, not_a_class_server

    started = _post_device(
        server_url, "code", {"client_host": client_host(), "client_platform": client_platform()}
    )
    try:
        code = started.json()
        # A subscript first: an answer that is not an object fails it with a TypeError.
        return DeviceCode(
            device_code=str(code["device_code"]),
            user_code=str(code["user_code"]),
            verification_uri=str(code["verification_uri"]),
            verification_uri_complete=str(
                code.get("verification_uri_complete") or code["verification_uri"]
            ),
            expires_in=min(LONGEST_WAIT, int(code.get("expires_in", 600))),
            interval=max(1, int(code.get("interval", 5))),
        )
    except (ValueError, KeyError, TypeError):
        raise not_a_class_server(server_url, started) from None


def _show_code(code: DeviceCode, *, open_browser: bool) -> None:
    """Tell the learner where to approve the login, and open that page when we can."""
    say(f"To log in, open {paint(code.verification_uri, 'cyan')} and enter the code:")
    say()
    say("    " + paint(code.user_code, "bold", bold=True))
    say()
    say(f"  (or open {code.verification_uri_complete})")
    if open_browser:
        import webbrowser

        if webbrowser.open(code.verification_uri_complete):
            say("  A browser window should have opened.")
    say("Waiting for your approval (Ctrl-C stops) ...")


class _NoToken(enum.Enum):
    """Why a poll gave no token, as far as the polling loop cares (RFC 8628 section 3.5)."""

    PENDING = enum.auto()  # authorization_pending: poll again after the interval
    SLOW_DOWN = enum.auto()  # slow_down: poll again, with a longer interval
    SPENT = enum.auto()  # expired_token or invalid_grant: this code will never give a token


def _poll_for_token(server_url: str, code: DeviceCode) -> str:
    """Poll the token endpoint every `interval` seconds until the code is approved or spent."""
    from sockdojo.api_shapes import DEVICE_GRANT

    interval = code.interval
    deadline = time.monotonic() + code.expires_in
    while time.monotonic() < deadline:
        time.sleep(interval)
        answer = _post_device(
            server_url,
            "token",
            {
                "grant_type": DEVICE_GRANT,
                "device_code": code.device_code,
            },
        )
        token = _token_from(server_url, answer)
        if isinstance(token, str):
            return token
        if token is _NoToken.SLOW_DOWN:
            interval += 5  # RFC 8628 section 3.5
        elif token is _NoToken.SPENT:
            break
    raise click.ClickException(
        f"The code {code.user_code} expired before it was approved (codes last 10 minutes): "
        "run sockdojo login again."
    )


def _token_from(server_url: str, answer: httpx.Response) -> str | _NoToken:
    """The token a poll's answer hands over, or why it has none; a denial or an answer the
    flow does not know ends the login."""
    from sockdojo.cli.remote import ServerUnreachable

    try:
        body = answer.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if answer.status_code == 200 and isinstance(body.get("access_token"), str):
        return str(body["access_token"])
    error = body.get("error")
    if error == "authorization_pending":
        return _NoToken.PENDING
    if error == "slow_down":
        return _NoToken.SLOW_DOWN
    if error in ("expired_token", "invalid_grant"):
        return _NoToken.SPENT
    if error == "access_denied":
        raise click.ClickException("The login was denied in the browser.")
    raise ServerUnreachable(
        f"The class server {server_url} answered the login with HTTP {answer.status_code}"
        f" ({error or 'no reason given'}): try again in a moment."
    )


@click.command("logout")
def logout() -> None:
    """Revoke this computer's token on the class server and forget it."""
    from sockdojo.cli import credentials
    from sockdojo.cli.remote import ClassServer, LoginRefused, ServerUnreachable

    login = credentials.current()
    if login is None:
        say("Not logged in: sockdojo uses the local dojo.")
        return
    server = ClassServer(login)
    try:
        server.revoke()
        revoked = f"Revoked the token on {login.server}."
    except LoginRefused:
        revoked = "The server no longer knew the token."
    except ServerUnreachable as error:
        revoked = f"Could not revoke the token ({error.message}); revoke it on your account page."
    finally:
        server.close()
    forgot = credentials.forget()
    say(revoked + (" Forgot the login." if forgot else ""))
    if login.from_environment:
        say("SOCKDOJO_SERVER / SOCKDOJO_TOKEN are set in your environment: unset them too.")


@click.command("whoami")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def whoami(ctx: click.Context, as_json: bool) -> None:
    """Which dojo and account the commands act on."""
    from sockdojo.cli.class_mode import class_server

    server = class_server(ctx)
    if server is None:
        name = ctx.find_root().obj["account"]
        if as_json:
            say_json({"server": None, "account": name})
        else:
            say(f"{name} on the local dojo (not logged in to a class server).")
        return
    name = server.whoami()
    if as_json:
        say_json({"server": server.url, "account": name})
    else:
        say(f"{name} on {server.url}")


def class_scoreboard(ctx: click.Context, days: int, limit: int, as_json: bool) -> bool:
    """The class server's scoreboard, printed; False when the CLI is not logged in."""
    from sockdojo.api_shapes import Scoreboard
    from sockdojo.cli.class_mode import class_server
    from sockdojo.cli.web_commands import print_board

    server = class_server(ctx)
    if server is None:
        return False
    board = server.scoreboard(days)
    # The server's own shape, cut to --limit rows.
    shape = Scoreboard(days=board.days, rows=board.rows[:limit], me=board.me)
    if as_json:
        say_shape(shape)
    else:
        print_board(shape)
    return True


def register(cli: click.Group) -> None:
    cli.add_command(login)
    cli.add_command(logout)
    cli.add_command(whoami)
    local_board = cli.commands.get("scoreboard")
    assert local_board is not None
    assert local_board.callback is not None
    local_callback = local_board.callback

    # The same command and options; on the class server when logged in.
    def scoreboard(days: str, limit: int, as_json: bool) -> None:
        ctx = click.get_current_context()
        if not class_scoreboard(ctx, int(days), limit, as_json):
            ctx.invoke(local_callback, days=days, limit=limit, as_json=as_json)

    local_board.callback = scoreboard
