"""What the reuse-address interpreter can tell an expression evaluates to.

Every value is what the analysis knows, never a guess: a constant, a module name, a tuple, a
socket, a function, a class or an instance of the program's own, a library method looked up but
not yet called, or an `Unknown` when the analysis cannot tell.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from sockdojo.challenges.reuse_address.facts import SOCKET_CONSTANTS

SockKind = Literal["tcp", "udp"]
# Where a socket comes from: a socket() call, accept(), a library that makes its own, a client
# connection, or a stand-in for an expression the analysis cannot resolve.
SockOrigin = Literal[
    "socket", "accepted", "create_server", "socketserver", "asyncio", "client", "stand-in"
]
MAX_CLASS_DEPTH = 10  # base classes followed up from a class, for any lookup through its bases


class Value:
    """Something an expression can evaluate to, as far as the analysis can tell."""


@dataclass(frozen=True)
class Const(Value):
    value: object


@dataclass(frozen=True)
class Qual(Value):
    """A name from a module: 'socket', 'socket.SO_REUSEADDR', 'socketserver.TCPServer'."""

    name: str


@dataclass(frozen=True)
class Tup(Value):
    items: tuple[Value, ...]


@dataclass(eq=False)
class Sock(Value):
    ident: int
    origin: SockOrigin
    line: int
    label: str | None = None
    kind: SockKind = "tcp"
    accepted_from: Sock | None = None
    library: str | None = None
    library_off: bool = False  # a library made this socket and left SO_REUSEADDR off


@dataclass(eq=False)
class Unknown(Value):
    key: str
    label: str
    sock: Sock | None = None


@dataclass(eq=False)
class Func(Value):
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
    scope: Scope
    defaults: list[Value]
    kw_defaults: dict[str, Value]
    owner: ClassVal | None = None
    is_static: bool = False

    @property
    def name(self) -> str:
        if isinstance(self.node, ast.Lambda):
            return "<lambda>"
        if self.owner is not None:
            return f"{self.owner.node.name}.{self.node.name}"
        return self.node.name


@dataclass(eq=False)
class ClassVal(Value):
    node: ast.ClassDef
    bases: list[Value]
    attrs: dict[str, Value]


@dataclass(eq=False)
class Instance(Value):
    cls: ClassVal | None
    library: str | None
    attrs: dict[str, Value]
    sock: Sock | None = None


@dataclass(frozen=True)
class Bound(Value):
    """A library method looked up on a value, not yet called: `s.bind`, `server.serve_forever`."""

    receiver: Value
    name: str


@dataclass(frozen=True)
class BoundFunc(Value):
    func: Func
    self_value: Value


@dataclass(frozen=True)
class SuperVal(Value):
    inst: Instance
    cls: ClassVal


class Scope:
    """The names of one module, function or class body while the walk is in it."""

    def __init__(self, name: str, parent: Scope | None, module: Scope | None) -> None:
        self.name = name
        self.vars: dict[str, Value] = {}
        self.parent = parent
        self.module: Scope = module or self
        self.global_names: set[str] = set()
        self.star_imports: list[str] = []
        self.returns: list[Value] = []


def mro(cls: ClassVal) -> Iterator[Value]:
    """`cls`, then every base reachable from it, depth first and left to right.

    Not Python's C3 order (they differ where a diamond's shared base and a later side both
    define a name): the order the analysis has always looked names up in. Library bases (a
    `Qual` such as `socketserver.TCPServer`) are yielded where they are met, not followed. A
    class reached twice (a diamond) is walked once, and the walk follows bases up to
    `MAX_CLASS_DEPTH` classes up: a hostile lattice of bases costs one visit per class, not one
    per path.
    """
    yield cls
    seen = {id(cls)}
    stack: list[tuple[Value, int]] = [(base, 1) for base in reversed(cls.bases)]
    while stack:
        base, depth = stack.pop()
        if isinstance(base, ClassVal):
            if id(base) in seen:
                continue
            seen.add(id(base))
            yield base
            if depth <= MAX_CLASS_DEPTH:
                stack.extend((parent, depth + 1) for parent in reversed(base.bases))
        else:
            yield base


def class_attribute(cls: ClassVal, name: str) -> Value | None:
    """What `name` is on the class, from its own body or its bases'."""
    for found in mro(cls):
        if isinstance(found, ClassVal) and name in found.attrs:
            return found.attrs[name]
    return None


def find_method(cls: ClassVal, name: str) -> Func | None:
    """The function `name` on the class or its bases (skipping attributes that are not one)."""
    for found in mro(cls):
        if isinstance(found, ClassVal):
            method = found.attrs.get(name)
            if isinstance(method, Func):
                return method
    return None


def truth_of(value: Value) -> bool | None:
    """The truth of a constant (True/False), or None when unknown."""
    if isinstance(value, Const):
        raw = value.value
        if isinstance(raw, bool | int | float | str | bytes) or raw is None:
            return bool(raw)
        return None
    if isinstance(value, Qual):
        number = _qual_number(value)
        return None if number is None else bool(number)
    if isinstance(value, Tup):
        return bool(value.items)
    return None


def _qual_number(value: Qual) -> int | None:
    module, _, name = value.name.rpartition(".")
    if module in ("socket", "_socket"):
        return SOCKET_CONSTANTS.get(name)
    return None


def number_of(value: Value) -> int | None:
    if isinstance(value, Const) and isinstance(value.value, int):
        return int(value.value)
    if isinstance(value, Qual):
        return _qual_number(value)
    return None


def bounded(number: object) -> Const | None:
    """A constant for a result small enough to keep computing with, else None."""
    if isinstance(number, bool):
        return Const(number)
    if isinstance(number, int) and abs(number) < 1 << 64:
        return Const(number)
    return None


def port_of(address: Value) -> int | None:
    """The port of a `(host, port)` address, when it is a constant."""
    if isinstance(address, Tup) and len(address.items) >= 2:
        port = address.items[1]
        if isinstance(port, Const) and type(port.value) is int:
            return port.value
    return None


def text_of(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except Exception:  # unparse can fail on odd trees; a label is all we need
        return "<expression>"
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77] + "..."
