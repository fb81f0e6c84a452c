"""Mistakes the reuse-address behaviour proof can show (running the learner's program).

Fields: {where} the address ("127.0.0.1:1337"), {port}, {error} the learner program's own
error line with a leading ": " (or nothing), {line} the same without it, {places} where it
listens instead, {reason} why connecting failed.
"""

from __future__ import annotations

from collections.abc import Mapping

from sockdojo.mistakes.entry import REUSE_ADDRESS as REUSE
from sockdojo.mistakes.entry import Entry

PROOF: Mapping[str, Entry] = {
    "proof-address-in-use": Entry(
        REUSE,
        "Your program could not bind {where} again: {line}",
        "The connection we cut left {where} in TIME_WAIT, and the kernel refuses to bind an "
        "address in that state to a socket without SO_REUSEADDR.",
        "Turn SO_REUSEADDR on for the listening socket, before bind(), and run the check again.",
    ),
    "proof-no-listen": Entry(
        REUSE,
        "Your program never listened on {where}.",
        "It may be stuck before bind() (a loop, input()), or never call listen().",
        "Run it yourself (python FILE) and check it reaches bind(('127.0.0.1', {port})) and "
        "listen().",
    ),
    "proof-elsewhere": Entry(
        REUSE,
        "Your program listens on {places}, not on {where}.",
        "The address or port given to bind() is not the one the challenge connects to.",
        "Bind to ('127.0.0.1', {port}).",
    ),
    "proof-exited": Entry(
        REUSE,
        "Your program ended before it listened{error}.",
        "It crashed or finished before reaching listen().",
        "Run it yourself (python FILE), fix the error it shows, and run the check again.",
    ),
    "proof-connect-failed": Entry(
        REUSE,
        "Your program listens, but connecting to {where} failed ({reason}).",
        "Its listening socket does not accept connections on that address.",
        "Bind to ('127.0.0.1', {port}) and call listen() before accept().",
    ),
    "proof-restart-crashed": Entry(
        REUSE,
        "The restarted program crashed{error}.",
        "Its second start failed for another reason than the address.",
        "Run it twice in a row yourself and fix what the second run shows.",
    ),
    "proof-restart-timeout": Entry(
        REUSE,
        "The restarted program neither listened on {where} nor ended.",
        "It may retry bind() in a loop, or wait for something before listening.",
        "Let your server bind and listen straight away when it starts.",
    ),
}
