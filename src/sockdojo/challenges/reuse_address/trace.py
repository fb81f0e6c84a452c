"""What the reuse-address interpreter records while it walks a program, for the judge to read.

The walk ends in one `Trace`: every socket it saw, the events on them in execution order, and
the few other things the judge reports (class attributes set, code in strings, endless loops,
and whether the walk stopped half-way).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from sockdojo.challenges.reuse_address.values import Func, Sock, Value

EventKind = Literal["setsockopt", "bind", "listen", "accept", "connect"]
# Who did what an event records, when it is not the program's own call on a socket: a library
# that sets the option and binds by itself, or an attribute set on a server object.
Via = Literal["create_server", "socketserver", "asyncio", "attribute"]


@dataclass
class Event:
    seq: int
    kind: EventKind
    sock: Sock
    line: int
    col: int
    reachable: bool
    function: Func | None
    text: str
    args: tuple[Value, ...] = ()
    arg_nodes: tuple[ast.expr | None, ...] = ()
    via: Via | None = None
    where: str = ""  # for library events: where the setting comes from
    port: int | None = None


class Place(NamedTuple):
    line: int
    col: int


class ClassAttrSet(NamedTuple):
    """`SomeServer.allow_reuse_address = True`: an attribute set on a class, and when."""

    seq: int
    owner: str  # a library class name, or "class:<id>" for a class of the program's own
    attr: str
    value: Value
    line: int
    col: int


class ExecString(NamedTuple):
    """Code mentioning the option, handed as a string to exec() or eval()."""

    line: int
    col: int
    function: str  # "exec" or "eval"


@dataclass
class Trace:
    tree: ast.Module
    events: list[Event] = field(default_factory=list)
    sockets: list[Sock] = field(default_factory=list)
    class_attr_sets: list[ClassAttrSet] = field(default_factory=list)
    exec_strings: list[ExecString] = field(default_factory=list)
    endless_loops: list[Place] = field(default_factory=list)
    incomplete: str | None = None  # why the walk stopped half-way, if it did

    def events_of(self, sock: Sock, kind: EventKind) -> list[Event]:
        return [e for e in self.events if e.sock is sock and e.kind == kind]
