"""Findings the reuse-address analysis reports about the learner's source code.

Codes are stable (tests, `--json` and documentation rely on them). Texts are templates that the
analysis fills in ({sock}, {bind_line}, ...) for the learner's own program: `saw` a short
title, `why` the explanation, `next_step` the fix. An "error" makes the check fail; a "note"
only explains (how a library does it for you, and so on).
"""

from __future__ import annotations

from collections.abc import Mapping

from sockdojo.mistakes.entry import REUSE_ADDRESS as REUSE
from sockdojo.mistakes.entry import Entry

FINDINGS: Mapping[str, Entry] = {
    "option-missing": Entry(
        REUSE,
        "SO_REUSEADDR is never turned on for `{sock}`.",
        "`{sock}` is bound on line {bind_line} without SO_REUSEADDR{others}. Stop this server "
        "while a connection is open and its port stays in TIME_WAIT for about a minute; "
        "starting it again then fails with 'Address already in use'.",
        "Add `{sock}.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)` before "
        "`{sock}.bind(...)`.",
        severity="error",
    ),
    "option-after-bind": Entry(
        REUSE,
        "SO_REUSEADDR is turned on only after bind().",
        "`{what}` runs after {binding} on line {bind_line}. The kernel decides whether the "
        "address may be reused at the moment bind() runs, so turning the option on afterwards "
        "does nothing for this start.",
        "Make it happen before line {bind_line}{how}.",
        severity="error",
    ),
    "reuseport-instead": Entry(
        REUSE,
        "SO_REUSEPORT is turned on instead of SO_REUSEADDR.",
        "This turns on SO_REUSEPORT, not SO_REUSEADDR. SO_REUSEPORT lets several running "
        "sockets share one port so the kernel can spread connections among them; it is a "
        "different tool, missing on some systems, and not the one this challenge asks for.",
        "Use `socket.SO_REUSEADDR` as the option (the second argument).",
        severity="error",
    ),
    "wrong-level": Entry(
        REUSE,
        "SO_REUSEADDR is set at the wrong level.",
        "SO_REUSEADDR is a socket-level option, but this call passes level {level}. {meaning}",
        "Pass `socket.SOL_SOCKET` as the first argument.",
        severity="error",
    ),
    "option-disabled": Entry(
        REUSE,
        "SO_REUSEADDR is set to off.",
        "The value {value} turns SO_REUSEADDR off. For on/off options, 0 and False mean off; "
        "1, True or any other non-zero number mean on.",
        "Pass 1 (or True) as the third argument.",
        severity="error",
    ),
    "option-on-other-socket": Entry(
        REUSE,
        "SO_REUSEADDR is set on another socket than the one that binds.",
        "SO_REUSEADDR is turned on for `{other}`, but the socket that binds is `{sock}` "
        "(line {bind_line}). Each socket has its own options{accepted}.",
        "Call setsockopt on `{sock}` itself, before `{sock}.bind(...)`.",
        severity="error",
    ),
    "never-called": Entry(
        REUSE,
        "The code that sets the option never runs.",
        "{what} is inside `{function}()`, which your program never calls, so it never runs.",
        "Call `{function}()`{when}.",
        severity="error",
    ),
    "library-reuse-off": Entry(
        REUSE,
        "The library's address reuse is turned off.",
        "{detail}",
        "{remedy}",
        severity="error",
    ),
    "not-a-server": Entry(
        REUSE,
        "This program is not a server.",
        "{detail} A server creates a socket, binds it to an address, listens, and accepts "
        "connections.",
        "Write the server: create the socket, set SO_REUSEADDR, then bind(('127.0.0.1', "
        "{port})), listen(), and accept() connections in a loop.",
        severity="error",
    ),
    "only-in-comment": Entry(
        REUSE,
        "The option is only in a comment.",
        "`{text}` appears only in a comment (line {at_line}). Python skips comments, so the "
        "option is never set.",
        "Make it real code (remove the `#`), after creating the socket and before bind().",
        severity="error",
    ),
    "only-in-string": Entry(
        REUSE,
        "The option is only in a string.",
        "`{text}` appears only inside a string (line {at_line}). A string is data, not code, so "
        "the option is never set.",
        "Write the setsockopt call as an ordinary statement, before bind().",
        severity="error",
    ),
    "cannot-follow": Entry(
        REUSE,
        "The analysis could not follow how the option is set.",
        "The analysis could not work out {what}{reason}. Rather than guess, it does not count "
        "this as turning SO_REUSEADDR on.",
        "Write it plainly: `sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)` on the "
        "listening socket, before bind().",
        severity="error",
    ),
    "misspelt-constant": Entry(
        REUSE,
        "A socket constant is misspelt.",
        "`{name}` is not a name the socket module has, so Python stops right here with "
        "`AttributeError: module 'socket' has no attribute '{attribute}'` and the option is "
        "never set.",
        "Write {fix}: the names are spelt exactly as in the socket module's documentation.",
        severity="error",
    ),
    "syntax-error": Entry(
        REUSE,
        "Python cannot read the file.",
        "Python cannot read this file: {message}.",
        "Fix the spot marked with ^ (the real mistake is sometimes at the end of the line "
        "before it), then run the check again.",
        severity="error",
    ),
    "file-empty": Entry(
        REUSE,
        "The file is empty.",
        "The file is empty, or holds only comments and blank lines.",
        "Write your server in it, save, and run the check again.",
        severity="error",
    ),
    "file-not-text": Entry(
        REUSE,
        "The file is not Python source.",
        "This is not a Python source file: {detail}.",
        "Pass the .py file you wrote (plain text, UTF-8).",
        severity="error",
    ),
    "file-too-large": Entry(
        REUSE,
        "The file is too large.",
        "The file is larger than {limit_kib} KiB. A simple server fits in a few dozen lines, "
        "so this is probably not the file you meant.",
        "Pass your server's .py file.",
        severity="error",
    ),
    "via-create-server": Entry(
        REUSE,
        "socket.create_server() sets SO_REUSEADDR for you.",
        "socket.create_server() turns SO_REUSEADDR on for you on Linux and macOS: inside, it "
        "calls setsockopt(SOL_SOCKET, SO_REUSEADDR, 1) before bind().",
        "Nothing to change. To see the mechanism, write the same server once with "
        "socket.socket(), setsockopt(), bind() and listen().",
        severity="note",
    ),
    "via-socketserver": Entry(
        REUSE,
        "socketserver sets SO_REUSEADDR for you.",
        "{library} turns SO_REUSEADDR on in its server_bind() when allow_reuse_address is "
        "true{where}: underneath it is the same setsockopt call, made before bind().",
        "Nothing to change.",
        severity="note",
    ),
    "via-asyncio": Entry(
        REUSE,
        "asyncio sets SO_REUSEADDR for you.",
        "asyncio's create_server() (behind start_server()) calls setsockopt(SOL_SOCKET, "
        "SO_REUSEADDR, 1) before binding when reuse_address is true{where}.",
        "Nothing to change.",
        severity="note",
    ),
    "numeric-constants": Entry(
        REUSE,
        "The constants are written as numbers.",
        "{level} and {option} are the Linux numbers for SOL_SOCKET and SO_REUSEADDR. Other "
        "systems number them differently (macOS: 0xffff and 4), so the names are safer.",
        "Write `socket.SOL_SOCKET` and `socket.SO_REUSEADDR`.",
        severity="note",
    ),
    "other-port": Entry(
        REUSE,
        "The server binds another port.",
        "`{sock}` binds port {bound_port}, but the challenge connects to port {port}.",
        "Bind to ('127.0.0.1', {port}).",
        severity="note",
    ),
}
