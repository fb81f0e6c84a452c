"""Static analysis of a reuse-address server with `ast`. The file is never run here.

The question is what the program *does*: is SO_REUSEADDR turned on, before `bind()`, on the
very socket that binds and listens? Matching text cannot answer it (the option may be set after
`bind`, on another socket, in a comment, with `True` or with numbers), so a small abstract
interpreter walks the program in execution order:

- values it tracks: module names (`import socket as s`, `from socket import *`), constants
  (`1`, `True`, `REUSE = 1`, `socket.SO_REUSEADDR` and their Linux numbers), tuples, sockets
  (each `socket.socket(...)` call site, `accept()` results, library servers), functions,
  classes and their instances (`self.sock`);
- it runs module code top to bottom, inlines calls to the program's own functions and methods
  (so a socket passed to a helper is still the same socket, and the order of events is the
  order of execution, not of lines), walks both sides of an `if` and loop bodies once;
- every setsockopt / bind / listen / accept / connect on a socket becomes an event with a
  sequence number; functions nothing calls are walked afterwards, their events marked
  unreachable;
- the judge then reads the events of each listening socket and reports findings.

Anything it cannot resolve becomes an `Unknown` value (calls on it are still recorded against a
stand-in socket named after the expression), and a work budget bounds hostile input.

Where things are: `interpreter` (the walk), `values` (what it can tell a value is), `trace`
(the events it records), `library_models` (what create_server, socketserver and asyncio do with
the option), `judge` (events -> findings), `findings` (what a finding is),
`sockdojo.mistakes.findings` (every code with its texts), `facts` (Linux socket numbers). This
module reads the bytes and ties them together.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import replace

from sockdojo.challenges.reuse_address.findings import Analysis, Finding, Source, finding
from sockdojo.challenges.reuse_address.interpreter import Interpreter, TooComplex
from sockdojo.challenges.reuse_address.judge import Judge

MAX_SOURCE_BYTES = 256 * 1024

__all__ = ["MAX_SOURCE_BYTES", "Analysis", "Finding", "analyze"]


def _only(*findings: Finding) -> Analysis:
    return Analysis(tuple(findings), runnable=False, reuse_ok=False, summary="")


def analyze(data: bytes, *, port: int = 1337, too_large: bool = False) -> Analysis:
    """Judge a program from its bytes. Never raises for anything a file can contain."""
    if too_large or len(data) > MAX_SOURCE_BYTES:
        return _only(finding("file-too-large", None, None, limit_kib=MAX_SOURCE_BYTES // 1024))
    if b"\x00" in data:
        return _only(finding("file-not-text", None, None, detail="it contains NUL bytes"))
    encoding = "utf-8"
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except Exception as error:
        # Whatever the codec its `# coding:` line names raises (LookupError for an unknown or
        # non-text one, UnicodeError from punycode, ...): the file is not text we can read.
        detail = "it is not valid UTF-8 text"
        if not isinstance(error, UnicodeDecodeError) or encoding not in ("utf-8", "utf-8-sig"):
            reason = str(error) if len(str(error)) <= 160 else str(error)[:157] + "..."
            detail = f"its encoding declaration is not usable ({reason})"
        return _only(finding("file-not-text", None, None, detail=detail))
    text = text.removeprefix("\ufeff")
    source = Source(text)
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        return _only(_syntax_error(error, source))
    except (RecursionError, MemoryError, ValueError):
        return _only(
            finding(
                "cannot-follow",
                None,
                None,
                what="this file",
                reason=": it is nested too deeply for Python's own parser",
            )
        )
    if not tree.body:
        return _only(finding("file-empty", None, None))
    interpreter = Interpreter(tree)
    trace = interpreter.trace
    internal = None
    try:
        interpreter.run()
    except TooComplex:
        trace.incomplete = "it is too large or too tangled to follow within the work limit"
    except (RecursionError, MemoryError):
        trace.incomplete = "it is nested too deeply"
    except Exception as error:
        # A construct we do not handle yet (a bug of ours, not the learner's mistake): say so
        # plainly instead of crashing on their file.
        trace.incomplete = f"it uses something the analysis cannot handle yet ({error!r})"
        internal = f"interpreter: {error!r}"
    try:
        result = Judge(trace, source, text, port).verdict()
    except Exception as error:
        reason = f": the analysis failed on it ({error!r}), which is a bug of ours"
        return replace(
            _only(finding("cannot-follow", None, None, what="this program", reason=reason)),
            runnable=True,
            internal_error=f"judge: {error!r}",
        )
    return replace(result, internal_error=internal) if internal else result


def _syntax_error(error: SyntaxError, source: Source) -> Finding:
    message = error.msg or "invalid syntax"
    if isinstance(error, TabError):
        message += " (a block is indented with tabs in one place and spaces in another)"
    line = error.lineno
    text = source.line(line)
    column = error.offset if error.offset and error.offset > 0 else None
    if text is not None and column is not None:
        column = min(column, len(text) + 1)
    return finding("syntax-error", source, line, column=column, caret=column, message=message)
