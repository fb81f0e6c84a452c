"""Help texts kept from the last time click rendered them, so a repeated `--help` skips click.

Importing click alone costs more than twice a bare interpreter's start-up, so `sockdojo --help`
could never stay within three times `python -c pass` while it imports click. The text is still
click's own rendering: the first `--help` for a command renders it through click and keeps it
here; later ones print it as long as nothing it was made from has changed.

An entry is valid only for the same interpreter, sockdojo version, command words, terminal width
inputs and SOCKDOJO_* environment, and while every source file of sockdojo and click that was
loaded when it was rendered keeps its size and modification time (an editable install changes
help without a new version; an upgraded click renders it differently). It is kept only after
click has shown that help and exited 0, and read back only whole.
Entries live in the cli package's own `__pycache__` folder, beside this package's bytecode, so they
go with the installation they describe; where it is not writable (a system-wide install run by
another user), nothing is kept and every `--help` goes through click. This module imports only
what the interpreter has already loaded at start-up.
"""

from __future__ import annotations

import os
import sys

from sockdojo import __version__

HELP_FLAGS = frozenset({"-h", "--help"})
_FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__")
_MAGIC = "sockdojo-help 2"
# The modules whose source files the text is made from.
_RENDERED_BY = ("sockdojo", "click")


def help_request(args: list[str]) -> tuple[str, ...] | None:
    """The command words of `sockdojo WORD... --help`, or None for anything else."""
    if not args or args[-1] not in HELP_FLAGS:
        return None
    words = tuple(args[:-1])
    # Only command names (they also name the file an entry is kept in): no options, no paths.
    if not all(word[:1].isalpha() and word.replace("-", "").isalnum() for word in words):
        return None
    return words


def _path(words: tuple[str, ...]) -> str:
    # Joined with "_", which no word holds, so no two command paths share a file; the words are
    # also in the entry (a file system that ignores case would still share one).
    return os.path.join(_FOLDER, "help_" + "_".join(("sockdojo", *words)) + ".txt")


def _conditions(words: tuple[str, ...]) -> list[str]:
    """What, besides the source files, the rendered text depends on."""
    # The inputs of shutil.get_terminal_size, which click sizes help by (shutil is not loaded yet).
    columns = "-"
    if sys.__stdout__ is not None:
        try:  # noqa: SIM105 (contextlib is not loaded at start-up)
            columns = str(os.get_terminal_size(sys.__stdout__.fileno()).columns)
        except (OSError, ValueError):
            pass
    lines = [
        "words " + " ".join(words),
        f"python {sys.executable} {sys.version_info[:3]}",
        f"version {__version__}",
        f"columns {os.environ.get('COLUMNS', '-')} {columns}",
    ]
    lines += sorted(f"env {k}={v!r}" for k, v in os.environ.items() if k.startswith("SOCKDOJO_"))
    return lines


def _stamp(path: str) -> str | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return f"file {status.st_mtime_ns} {status.st_size} {path}"


def cached(words: tuple[str, ...]) -> str | None:
    """The kept help text for these words, if it is still what click would render."""
    try:
        with open(_path(words), encoding="utf-8") as file:
            content = file.read()
    except (OSError, UnicodeDecodeError):
        return None
    header, separator, text = content.partition("\n\n")
    lines = header.split("\n")
    if not separator or lines[0] != _MAGIC or lines[-1] != f"length {len(text)}":
        return None
    stamps = [line for line in lines[1:-1] if line.startswith("file ")]
    if [line for line in lines[1:-1] if not line.startswith("file ")] != _conditions(words):
        return None
    for line in stamps:
        if _stamp(line.split(" ", 3)[3]) != line:
            return None
    return text


def remember(words: tuple[str, ...], text: str) -> None:
    """Keep click's text for these words, stamped with the sources loaded to render it."""
    sources: set[str] = set()
    for name, module in list(sys.modules.items()):
        source = getattr(module, "__file__", None)
        if name.partition(".")[0] in _RENDERED_BY and isinstance(source, str):
            sources.add(os.path.abspath(source))
    stamps = [stamp for stamp in map(_stamp, sorted(sources)) if stamp is not None]
    header = [_MAGIC, *_conditions(words), *stamps, f"length {len(text)}"]
    target = _path(words)
    # A name of its own, made here and nowhere else (also beside a process with the same pid
    # in another PID namespace sharing this installation).
    temporary = f"{target}.{os.urandom(8).hex()}.tmp"
    try:
        os.makedirs(_FOLDER, exist_ok=True)
        descriptor = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        with open(descriptor, "w", encoding="utf-8") as file:
            file.write("\n".join(header) + "\n\n" + text)
        os.replace(temporary, target)  # whole or not at all, also beside a concurrent --help
    except OSError:
        try:  # noqa: SIM105 (contextlib is not loaded at start-up)
            os.unlink(temporary)
        except OSError:
            pass
