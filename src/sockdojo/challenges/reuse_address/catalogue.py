"""Every finding the reuse-address analysis can report, as data: code -> explanation and fix.

Codes are stable (tests, `--json` and documentation rely on them). Texts are templates: the
analysis fills in the fields ({sock}, {bind_line}, ...) for the learner's own program. An
"error" makes the check fail; a "note" only explains (how a library does it for you, etc.).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "note"]


@dataclass(frozen=True)
class Entry:
    severity: Severity
    explanation: str
    fix: str


CATALOGUE: Mapping[str, Entry] = {
    "option-missing": Entry(
        "error",
        "`{sock}` is bound on line {bind_line} without SO_REUSEADDR{others}. Stop this server "
        "while a connection is open and its port stays in TIME_WAIT for about a minute; "
        "starting it again then fails with 'Address already in use'.",
        "Add `{sock}.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)` before "
        "`{sock}.bind(...)`.",
    ),
    "option-after-bind": Entry(
        "error",
        "`{what}` runs after {binding} on line {bind_line}. The kernel decides whether the "
        "address may be reused at the moment bind() runs, so turning the option on afterwards "
        "does nothing for this start.",
        "Make it happen before line {bind_line}{how}.",
    ),
    "reuseport-instead": Entry(
        "error",
        "This turns on SO_REUSEPORT, not SO_REUSEADDR. SO_REUSEPORT lets several running "
        "sockets share one port so the kernel can spread connections among them; it is a "
        "different tool, missing on some systems, and not the one this challenge asks for.",
        "Use `socket.SO_REUSEADDR` as the option (the second argument).",
    ),
    "wrong-level": Entry(
        "error",
        "SO_REUSEADDR is a socket-level option, but this call passes level {level}. {meaning}",
        "Pass `socket.SOL_SOCKET` as the first argument.",
    ),
    "option-disabled": Entry(
        "error",
        "The value {value} turns SO_REUSEADDR off. For on/off options, 0 and False mean off; "
        "1, True or any other non-zero number mean on.",
        "Pass 1 (or True) as the third argument.",
    ),
    "option-on-other-socket": Entry(
        "error",
        "SO_REUSEADDR is turned on for `{other}`, but the socket that binds is `{sock}` "
        "(line {bind_line}). Each socket has its own options{accepted}.",
        "Call setsockopt on `{sock}` itself, before `{sock}.bind(...)`.",
    ),
    "never-called": Entry(
        "error",
        "{what} is inside `{function}()`, which your program never calls, so it never runs.",
        "Call `{function}()`{when}.",
    ),
    "library-reuse-off": Entry(
        "error",
        "{detail}",
        "{remedy}",
    ),
    "not-a-server": Entry(
        "error",
        "{detail} A server creates a socket, binds it to an address, listens, and accepts "
        "connections.",
        "Write the server: create the socket, set SO_REUSEADDR, then bind(('127.0.0.1', "
        "{port})), listen(), and accept() connections in a loop.",
    ),
    "only-in-comment": Entry(
        "error",
        "`{text}` appears only in a comment (line {at_line}). Python skips comments, so the "
        "option is never set.",
        "Make it real code (remove the `#`), after creating the socket and before bind().",
    ),
    "only-in-string": Entry(
        "error",
        "`{text}` appears only inside a string (line {at_line}). A string is data, not code, so "
        "the option is never set.",
        "Write the setsockopt call as an ordinary statement, before bind().",
    ),
    "cannot-follow": Entry(
        "error",
        "The analysis could not work out {what}{reason}. Rather than guess, it does not count "
        "this as turning SO_REUSEADDR on.",
        "Write it plainly: `sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)` on the "
        "listening socket, before bind().",
    ),
    "misspelt-constant": Entry(
        "error",
        "`{name}` is not a name the socket module has, so Python stops right here with "
        "`AttributeError: module 'socket' has no attribute '{attribute}'` and the option is "
        "never set.",
        "Write {fix}: the names are spelt exactly as in the socket module's documentation.",
    ),
    "syntax-error": Entry(
        "error",
        "Python cannot read this file: {message}.",
        "Fix the spot marked with ^ (the real mistake is sometimes at the end of the line "
        "before it), then run the check again.",
    ),
    "file-empty": Entry(
        "error",
        "The file is empty, or holds only comments and blank lines.",
        "Write your server in it, save, and run the check again.",
    ),
    "file-not-text": Entry(
        "error",
        "This is not a Python source file: {detail}.",
        "Pass the .py file you wrote (plain text, UTF-8).",
    ),
    "file-too-large": Entry(
        "error",
        "The file is larger than {limit_kib} KiB. A simple server fits in a few dozen lines, "
        "so this is probably not the file you meant.",
        "Pass your server's .py file.",
    ),
    "via-create-server": Entry(
        "note",
        "socket.create_server() turns SO_REUSEADDR on for you on Linux and macOS: inside, it "
        "calls setsockopt(SOL_SOCKET, SO_REUSEADDR, 1) before bind().",
        "Nothing to change. To see the mechanism, write the same server once with "
        "socket.socket(), setsockopt(), bind() and listen().",
    ),
    "via-socketserver": Entry(
        "note",
        "{library} turns SO_REUSEADDR on in its server_bind() when allow_reuse_address is "
        "true{where}: underneath it is the same setsockopt call, made before bind().",
        "Nothing to change.",
    ),
    "via-asyncio": Entry(
        "note",
        "asyncio's create_server() (behind start_server()) calls setsockopt(SOL_SOCKET, "
        "SO_REUSEADDR, 1) before binding when reuse_address is true{where}.",
        "Nothing to change.",
    ),
    "numeric-constants": Entry(
        "note",
        "{level} and {option} are the Linux numbers for SOL_SOCKET and SO_REUSEADDR. Other "
        "systems number them differently (macOS: 0xffff and 4), so the names are safer.",
        "Write `socket.SOL_SOCKET` and `socket.SO_REUSEADDR`.",
    ),
    "other-port": Entry(
        "note",
        "`{sock}` binds port {bound_port}, but the challenge connects to port {port}.",
        "Bind to ('127.0.0.1', {port}).",
    ),
}


def field_names(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class _Fields(dict[str, object]):
    """Missing fields render as '?' instead of raising: a text must never crash a check."""

    def __missing__(self, key: str) -> str:
        return "?"


def render(template: str, fields: Mapping[str, object]) -> str:
    return template.format_map(_Fields(fields))
