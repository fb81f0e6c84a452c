"""The judge: reads the interpreter's socket events and turns them into findings."""

from __future__ import annotations

import ast
import difflib
import io
import socket
import tokenize
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, NamedTuple

from sockdojo.challenges.reuse_address.facts import (
    BSD_SO_REUSEADDR,
    BSD_SOL_SOCKET,
    LEVEL_NAMES,
    MENTION,
    OPTION_NAMES,
    SO_REUSEADDR,
    SO_REUSEPORT,
    SOCKET_CONSTANTS,
    SOL_SOCKET,
)
from sockdojo.challenges.reuse_address.findings import Analysis, Finding, Source, make
from sockdojo.challenges.reuse_address.library_models import (
    DEFAULT_SERVER_CLASS,
    REUSE_ADDRESS_ATTRIBUTE,
    chain_of,
)
from sockdojo.challenges.reuse_address.trace import ClassAttrSet, Event, EventKind, Trace
from sockdojo.challenges.reuse_address.values import (
    Const,
    Qual,
    Sock,
    Value,
    number_of,
    text_of,
    truth_of,
)

# What one setsockopt call does to SO_REUSEADDR, in Linux terms.
OptionKind = Literal["on", "off", "reuseport", "wrong-level", "other", "unknown", "misspelt"]


@dataclass
class _Classified:
    event: Event
    kind: OptionKind
    option_name: str = ""
    level_text: str = ""
    meaning: str = ""
    unknown_part: str = ""


def _name_of(value: Value, node: ast.expr | None) -> str:
    if isinstance(value, Qual):
        return value.name.rpartition(".")[2]
    if node is not None:
        return text_of(node)
    if isinstance(value, Const):
        return repr(value.value)
    return "?"


def misspelt(value: Value) -> tuple[str, str] | None:
    """A `socket.NAME` that the socket module does not have, and the name it most likely
    meant: `socket.SO_REUSEADR` stops the program with an AttributeError."""
    if not isinstance(value, Qual):
        return None
    module, _, name = value.name.rpartition(".")
    if module not in ("socket", "_socket") or name in SOCKET_CONSTANTS or hasattr(socket, name):
        return None
    if not name.isupper():
        return None
    known = sorted({*SOCKET_CONSTANTS, *(n for n in dir(socket) if n.startswith(("SO_", "SOL_")))})
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return value.name, close[0] if close else ""


def classify(event: Event) -> _Classified:
    """What one setsockopt call does, in Linux terms."""
    args = event.args
    nodes = event.arg_nodes + (None,) * (3 - len(event.arg_nodes))
    if len(args) < 3:
        return _Classified(
            event, "unknown", unknown_part="all three arguments (level, option, value)"
        )
    level, option = args[0], args[1]
    for part in (level, option):
        wrong = misspelt(part)
        if wrong is not None:
            return _Classified(event, "misspelt", option_name=wrong[0], meaning=wrong[1])
    level_number, option_number = number_of(level), number_of(option)
    option_label = _name_of(option, nodes[1])
    named_option = option.name.rpartition(".")[2] if isinstance(option, Qual) else None
    if option_number is None:
        return _Classified(event, "unknown", unknown_part=f"which option `{option_label}` is")
    reuse_meant = named_option in ("SO_REUSEADDR", "SO_REUSEPORT") or (
        named_option is None and option_number == SO_REUSEADDR
    )
    if level_number is None:
        if reuse_meant:
            return _Classified(
                event, "unknown", unknown_part=f"the level `{_name_of(level, nodes[0])}`"
            )
        return _Classified(event, "other", option_name=option_label)
    if level_number == SOL_SOCKET:
        return _at_socket_level(event, option_number, named_option, option_label, nodes[2])
    # Another level. SO_REUSEADDR meant at the wrong level, or the number 2 at the wrong level,
    # or the BSD/macOS numbers (SOL_SOCKET 0xffff, SO_REUSEADDR 4)?
    if reuse_meant or (level_number == BSD_SOL_SOCKET and option_number == BSD_SO_REUSEADDR):
        level_text = _name_of(level, nodes[0])
        level_name = LEVEL_NAMES.get(level_number)
        if level_name and level_name != level_text:
            level_text = f"{level_text} ({level_name})"
        return _Classified(
            event,
            "wrong-level",
            option_name=named_option or "SO_REUSEADDR",
            level_text=level_text,
            meaning=_wrong_level_meaning(level_number, option_number),
        )
    return _Classified(event, "other", option_name=named_option or option_label)


def _at_socket_level(
    event: Event,
    option_number: int,
    named: str | None,
    option_label: str,
    value_node: ast.expr | None,
) -> _Classified:
    """A setsockopt at SOL_SOCKET: SO_REUSEADDR on or off, SO_REUSEPORT, or another option."""
    value = event.args[2]
    if named is not None and not named.startswith("SO_"):
        return _Classified(event, "other", option_name=named)
    if option_number == SO_REUSEADDR:
        truth = truth_of(value)
        if truth is None:
            return _Classified(
                event, "unknown", unknown_part=f"the value `{_name_of(value, value_node)}`"
            )
        return _Classified(event, "on" if truth else "off", option_name="SO_REUSEADDR")
    if option_number == SO_REUSEPORT:
        return _Classified(
            event,
            "reuseport" if truth_of(value) is not False else "other",
            option_name="SO_REUSEPORT",
        )
    name = OPTION_NAMES[SOL_SOCKET].get(option_number, option_label)
    return _Classified(event, "other", option_name=named or name)


def _wrong_level_meaning(level_number: int, option_number: int) -> str:
    meaning_name = OPTION_NAMES.get(level_number, {}).get(option_number)
    if level_number == BSD_SOL_SOCKET:
        return "0xffff is SOL_SOCKET on macOS and the BSDs; on Linux it is 1, and this call fails."
    if meaning_name:
        return (
            f"At that level option number {option_number} means {meaning_name}, so the call "
            "changes something else or fails with 'Invalid argument'."
        )
    return (
        "At that level the option number means something else (or nothing), so the "
        "call does not do what you want."
    )


class _Problem(NamedTuple):
    code: str
    fields: dict[str, object]


class _Listener(NamedTuple):
    """What the listener rules look at: one listening socket and its options."""

    sock: Sock
    label: str
    first_bind: Event
    options: tuple[_Classified, ...]
    deciding: _Classified | None  # the last on/off setting of SO_REUSEADDR before bind()


class Judge:
    def __init__(self, trace: Trace, source: Source, text: str, port: int) -> None:
        self.trace = trace
        self.source = source
        self.text = text
        self.port = port
        self.findings: list[Finding] = []
        self.ok_summaries: list[str] = []

    def add(
        self,
        code: str,
        line: int | None,
        byte_col: int | None = None,
        *,
        column: int | None = None,
        **fields: object,
    ) -> None:
        self.add_fields(code, line, byte_col, fields, column=column)

    def add_fields(
        self,
        code: str,
        line: int | None,
        byte_col: int | None,
        fields: Mapping[str, object],
        *,
        column: int | None = None,
    ) -> None:
        """A finding, unless one with the same code is already on that line."""
        finding = make(code, self.source, line, byte_col, column, None, fields)
        if not any(f.code == finding.code and f.line == finding.line for f in self.findings):
            self.findings.append(finding)

    def events_of(self, sock: Sock, kind: EventKind) -> list[Event]:
        return self.trace.events_of(sock, kind)

    def verdict(self) -> Analysis:
        trace = self.trace
        if trace.incomplete is not None:
            # The walk stopped half-way: anything else said now would rest on half a program.
            self.add(
                "cannot-follow", None, what="the whole program", reason=f": {trace.incomplete}"
            )
            return Analysis(tuple(self.findings), runnable=True, reuse_ok=False, summary="")
        for line, col, name in trace.exec_strings:
            self.add(
                "cannot-follow",
                line,
                col,
                what="the code in this string",
                reason=f": text passed to {name}() is only known when the program runs",
            )
        listeners = self.listening_sockets()
        if not listeners:
            self.not_a_server()
        else:
            for sock in listeners:
                self.judge_listener(sock)
        self.findings.sort(key=lambda f: (f.line or 0, f.severity != "error", f.code))
        reuse_ok = bool(listeners) and len(self.ok_summaries) == len(listeners)
        summary = " ".join(self.ok_summaries) if reuse_ok else ""
        return Analysis(tuple(self.findings), runnable=True, reuse_ok=reuse_ok, summary=summary)

    def listening_sockets(self) -> list[Sock]:
        found = []
        for sock in self.trace.sockets:
            if sock.kind == "udp" or not self.events_of(sock, "bind"):
                continue
            if self.events_of(sock, "listen") or self.events_of(sock, "accept"):
                found.append(sock)
        return found

    def not_a_server(self) -> None:
        trace = self.trace
        bound = [s for s in trace.sockets if self.events_of(s, "bind")]
        connects = [e for e in trace.events if e.kind == "connect"]
        if bound:
            sock = bound[0]
            bind = self.events_of(sock, "bind")[0]
            detail = (
                f"`{sock.label or 'the socket'}` is bound (line {bind.line}) but never listens, "
                "so no client can connect."
            )
            if sock.kind == "udp":
                detail += (
                    " It is a UDP socket (SOCK_DGRAM); this challenge needs TCP (SOCK_STREAM), "
                    "the kind that has connections and TIME_WAIT."
                )
            self.add("not-a-server", bind.line, bind.col, detail=detail, port=self.port)
        elif connects:
            first = connects[0]
            detail = (
                f"Your program connects to a server (line {first.line}) but never binds or "
                "listens: it is a client."
            )
            self.add("not-a-server", first.line, first.col, detail=detail, port=self.port)
        elif trace.endless_loops:
            line, col = trace.endless_loops[0]
            detail = (
                f"Your program never gets past the endless loop on line {line} (a `while True:` "
                "with no break), so nothing after it runs: no bind(), no listen()."
            )
            self.add("not-a-server", line, col, detail=detail, port=self.port)
        else:
            detail = "Your program never calls bind(), listen() or accept()."
            first_event = next((e.line for e in trace.events), None)
            self.add("not-a-server", first_event, detail=detail, port=self.port)

    def judge_listener(self, sock: Sock) -> None:
        """Run the listener rules in order; the first that settles the socket ends it.

        Precedence, highest first: what the option is just before the first bind() (on: the
        socket passes; off: that is the one problem); then every problem with how the option
        is set (too late, wrong level, SO_REUSEPORT, misspelt, unreadable, on another socket),
        all reported together; then a library whose own reuse is off; then nothing to say when
        the option is only in a string or comment (reported as such elsewhere); and last, the
        option missing. The notes (never-called bind, another port) come first and never settle.
        """
        listener = self._listener(sock)
        self.bind_notes(listener)
        for rule in (
            self.option_on,
            self.option_off,
            self.option_problems,
            self.library_reuse_off,
            self.explained_elsewhere,
            self.option_missing,
        ):
            if rule(listener):
                return

    def _listener(self, sock: Sock) -> _Listener:
        first_bind = self.events_of(sock, "bind")[0]
        options = tuple(classify(e) for e in self.events_of(sock, "setsockopt"))
        deciding = None
        for option in options:
            if option.event.seq < first_bind.seq and option.kind in ("on", "off"):
                deciding = option
        return _Listener(sock, sock.label or "the socket", first_bind, options, deciding)

    def bind_notes(self, it: _Listener) -> None:
        bind = it.first_bind
        if not bind.reachable and bind.function is not None:
            self.add(
                "never-called",
                bind.function.node.lineno,
                bind.function.node.col_offset,
                what=f"The code that binds `{it.label}`",
                function=bind.function.name,
                when=", for example at the end of the file",
            )
        if bind.port is not None and bind.port != self.port:
            self.add(
                "other-port",
                bind.line,
                bind.col,
                sock=it.label,
                bound_port=bind.port,
                port=self.port,
            )

    def option_on(self, it: _Listener) -> bool:
        if it.deciding is None or it.deciding.kind != "on":
            return False
        self.accept_option(it.sock, it.deciding, it.first_bind)
        return True

    def option_off(self, it: _Listener) -> bool:
        if it.deciding is None or it.deciding.kind != "off":
            return False
        event = it.deciding.event
        value = _name_of(event.args[2], event.arg_nodes[2] if len(event.arg_nodes) > 2 else None)
        raw = event.args[2]
        if isinstance(raw, Const) and value != repr(raw.value):
            value = f"{value} ({raw.value!r})"
        self.add("option-disabled", event.line, event.col, value=f"`{value}`")
        return True

    def option_problems(self, it: _Listener) -> bool:
        """Every way the option is set wrong, all reported: any of them settles the socket."""
        found = [self.option_problem(it, option) for option in it.options]
        found += [self.late_class_setting(it, late) for late in self.late_class_settings(it)]
        found += [self.option_elsewhere(it, event) for event in self.trace.events]
        return any(found)

    def option_problem(self, it: _Listener, option: _Classified) -> bool:
        problem = self.problem_of(it, option)
        if problem is not None:
            self.add_fields(problem.code, option.event.line, option.event.col, problem.fields)
        return problem is not None

    def problem_of(self, it: _Listener, option: _Classified) -> _Problem | None:
        """What is wrong with one setsockopt call on the listener, if anything."""
        event = option.event
        match option.kind:
            case "on" if event.seq > it.first_bind.seq:
                fields = {"what": event.text, **self.binding(it.label, it.first_bind)}
                return _Problem("option-after-bind", fields)
            case "wrong-level":
                return _Problem(
                    "wrong-level", {"level": option.level_text, "meaning": option.meaning}
                )
            case "reuseport":
                return _Problem("reuseport-instead", {"sock": it.label})
            case "misspelt":
                suggestion = option.meaning
                fix = f"`socket.{suggestion}`" if suggestion else "the name in the socket module"
                name = option.option_name
                fields = {"name": name, "attribute": name.rpartition(".")[2], "fix": fix}
                return _Problem("misspelt-constant", fields)
            case "unknown":
                fields = {"what": option.unknown_part, "reason": f" in `{event.text}`"}
                return _Problem("cannot-follow", fields)
        return None

    def late_class_setting(self, it: _Listener, late: ClassAttrSet) -> bool:
        what = f"{_short(late.owner)}.{late.attr} = {_text_value(late.value)}"
        fields = {"what": what, **self.binding(it.label, it.first_bind)}
        self.add_fields("option-after-bind", late.line, late.col, fields)
        return True

    def option_elsewhere(self, it: _Listener, event: Event) -> bool:
        """SO_REUSEADDR turned on, but for another socket than this listener."""
        if event.kind != "setsockopt" or event.sock is it.sock or classify(event).kind != "on":
            return False
        other = event.sock
        if not event.reachable and event.function is not None and other.origin == "stand-in":
            self.add(
                "never-called",
                event.line,
                event.col,
                what=f"`{event.text}`",
                function=event.function.name,
                when=" after creating the socket and before bind()",
            )
            return True
        if other in self.listening_sockets():
            return False
        accepted = ""
        if other.accepted_from is not None:
            accepted = (
                f"; `{other.label or 'that'}` is a connection returned by accept(), "
                "which never binds anything"
            )
        self.add(
            "option-on-other-socket",
            event.line,
            event.col,
            other=other.label or "another socket",
            sock=it.label,
            bind_line=it.first_bind.line,
            accepted=accepted,
        )
        return True

    def library_reuse_off(self, it: _Listener) -> bool:
        if not it.sock.library_off:
            return False
        self.library_off(it.sock, it.first_bind)
        return True

    def explained_elsewhere(self, it: _Listener) -> bool:
        # Code in a string given to exec(), or the option only in a comment or a string: those
        # findings say what is wrong; "missing" on top would only repeat it.
        return bool(self.trace.exec_strings) or self.mentions()

    def option_missing(self, it: _Listener) -> bool:
        others = sorted({o.option_name for o in it.options if o.kind == "other"})
        others_text = ""
        if others:
            names = ", ".join(others)
            which = "is a different option" if len(others) == 1 else "are different options"
            others_text = f" (you set {names}, which {which})"
        self.add(
            "option-missing",
            it.first_bind.line,
            it.first_bind.col,
            sock=it.label,
            bind_line=it.first_bind.line,
            others=others_text,
        )
        return True

    def binding(self, label: str, bind: Event) -> dict[str, object]:
        """How to name the bind() an option came too late for, and how to fix it."""
        if bind.via == "socketserver":
            return {
                "binding": "the server binds its socket (in its constructor)",
                "bind_line": bind.line,
                "how": (
                    ": set it on the class before creating the server, for example "
                    "`socketserver.TCPServer.allow_reuse_address = True`"
                ),
            }
        return {
            "binding": f"`{label}.bind()`",
            "bind_line": bind.line,
            "how": ": after creating the socket, before binding it",
        }

    def accept_option(self, sock: Sock, deciding: _Classified, bind: Event) -> None:
        event = deciding.event
        label = sock.label or "the socket"
        if event.via == "create_server":
            self.add("via-create-server", event.line, event.col)
            self.ok_summaries.append(
                f"socket.create_server() turns SO_REUSEADDR on before it binds (line {event.line})."
            )
            return
        if event.via == "socketserver":
            library = sock.library or DEFAULT_SERVER_CLASS
            self.add("via-socketserver", event.line, event.col, library=library, where=event.where)
            self.ok_summaries.append(
                f"{library} sets SO_REUSEADDR before binding (line {event.line})."
            )
            return
        if event.via == "asyncio":
            self.add("via-asyncio", event.line, event.col, where=event.where)
            self.ok_summaries.append(
                f"asyncio sets SO_REUSEADDR before binding (line {event.line})."
            )
            return
        nodes = event.arg_nodes
        if len(nodes) >= 2 and any(isinstance(n, ast.Constant) for n in nodes[:2]):
            level = text_of(nodes[0]) if nodes[0] is not None else "1"
            option = text_of(nodes[1]) if nodes[1] is not None else "2"
            self.add("numeric-constants", event.line, event.col, level=level, option=option)
        self.ok_summaries.append(
            f"SO_REUSEADDR is on for `{label}` (line {event.line}) "
            f"before `{label}.bind()` (line {bind.line})."
        )

    def late_class_settings(self, it: _Listener) -> list[ClassAttrSet]:
        """`TCPServer.allow_reuse_address = True` after the server was made: too late."""
        sock, bind = it.sock, it.first_bind
        if sock.library is None:
            return []
        chain = chain_of(sock.library)
        return [
            late
            for late in self.trace.class_attr_sets
            if late.attr == REUSE_ADDRESS_ATTRIBUTE
            and late.seq >= bind.seq
            and truth_of(late.value)
            and (late.owner in chain or late.owner.startswith("class:"))
        ]

    def library_off(self, sock: Sock, bind: Event) -> None:
        if sock.origin == "asyncio":
            detail = (
                "reuse_address=False tells asyncio not to set SO_REUSEADDR on the server's socket."
            )
            remedy = (
                "Drop reuse_address=False (asyncio turns the option on by default on Unix) "
                "or pass reuse_address=True."
            )
        else:
            library = sock.library or DEFAULT_SERVER_CLASS
            short = library.rpartition(".")[2]
            detail = (
                f"{library} only sets SO_REUSEADDR when its class attribute allow_reuse_address is "
                "true, and for this server it is false (that is TCPServer's default)."
            )
            remedy = (
                f"Subclass {short} with `allow_reuse_address = True`, or set "
                f"`socketserver.{short}.allow_reuse_address = True` before creating the server."
            )
        self.add("library-reuse-off", bind.line, bind.col, detail=detail, remedy=remedy)

    def mentions(self) -> bool:
        """The call written only in a comment or a string: say that, not just 'missing'."""
        found = False
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(self.text).readline))
        except (tokenize.TokenError, SyntaxError):
            tokens = []
        for token in tokens:
            if token.type == tokenize.COMMENT:
                match = MENTION.search(token.string)
                if match:
                    self.add(
                        "only-in-comment",
                        token.start[0],
                        column=token.start[1] + 1,
                        text=match.group(0),
                        at_line=token.start[0],
                    )
                    found = True
                    break
        for node in ast.walk(self.trace.tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                match = MENTION.search(node.value)
                if match:
                    self.add(
                        "only-in-string",
                        node.lineno,
                        node.col_offset,
                        text=match.group(0),
                        at_line=node.lineno,
                    )
                    found = True
                    break
        return found


def _short(owner: str) -> str:
    return owner.rpartition(".")[2] if not owner.startswith("class:") else "your server class"


def _text_value(value: Value) -> str:
    if isinstance(value, Const):
        return repr(value.value)
    return "..."
