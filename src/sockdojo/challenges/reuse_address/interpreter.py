"""The abstract interpreter behind the reuse-address analysis (see `analysis` for the idea).

It walks a parsed program in execution order and records what happens to sockets as `Event`s.
It never runs anything: every value is what the analysis can tell about it, and anything it
cannot resolve is an `Unknown`, never a guess.
"""

from __future__ import annotations

import ast
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sockdojo.challenges.reuse_address.facts import (
    ASYNCIO_SERVERS,
    LIBRARY_DEFAULTS,
    LOOP_GETTERS,
    MENTION,
    SERVER_CLASSES,
    SO_REUSEADDR,
    SO_REUSEPORT,
    SOCKET_CONSTANTS,
    SOCKET_METHODS,
    SOCKET_NAMES,
    SOL_SOCKET,
    UDP_SERVERS,
)

MAX_STEPS = 60_000  # statements and expressions evaluated, over the whole walk
MAX_DEPTH = 24  # nested inlined calls


class TooComplex(Exception):
    pass


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
    origin: str  # "socket", "accepted", "create_server", "socketserver", "asyncio", "stand-in"
    line: int
    label: str | None = None
    kind: str = "tcp"  # "tcp", "udp"
    accepted_from: Sock | None = None
    library: str | None = None
    library_off: str | None = None  # why a library server left the option off


@dataclass(eq=False)
class Unknown(Value):
    key: str
    label: str
    sock: Sock | None = None


@dataclass(eq=False)
class Func(Value):
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
    scope: _Scope
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


class _Scope:
    def __init__(self, name: str, parent: _Scope | None, module: _Scope | None) -> None:
        self.name = name
        self.vars: dict[str, Value] = {}
        self.parent = parent
        self.module: _Scope = module or self
        self.global_names: set[str] = set()
        self.star_imports: list[str] = []
        self.returns: list[Value] = []


@dataclass
class Event:
    seq: int
    kind: str  # "setsockopt", "bind", "listen", "accept", "connect"
    sock: Sock
    line: int
    col: int
    reachable: bool
    function: Func | None
    text: str
    args: tuple[Value, ...] = ()
    arg_nodes: tuple[ast.expr | None, ...] = ()
    via: str | None = None  # "create_server", "socketserver", "asyncio", "attribute"
    where: str = ""  # for library events: where the setting comes from
    port: int | None = None


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


def _bounded(number: object) -> Const | None:
    if isinstance(number, bool):
        return Const(number)
    if isinstance(number, int) and abs(number) < 1 << 64:
        return Const(number)
    return None


class Interpreter:
    def __init__(self, tree: ast.Module, port: int) -> None:
        self.tree = tree
        self.port = port
        self.module = _Scope("<module>", None, None)
        self.module.vars["__name__"] = Const("__main__")
        self.fallback_imports = _collect_imports(tree)
        self.events: list[Event] = []
        self.sockets: list[Sock] = []
        self.unknowns: dict[str, Unknown] = {}
        self.defined: list[Func] = []
        self.called: set[int] = set()
        self.instances: dict[int, Instance] = {}
        self.library_attrs: dict[tuple[str, str], tuple[Value, int]] = {}
        self.class_attr_sets: list[tuple[int, str, str, Value, int, int]] = []
        self.exec_strings: list[tuple[int, int, str]] = []
        self.stack: list[Func] = []
        self.reachable = True
        self.steps = 0
        self.seq = 0
        self.incomplete: str | None = None
        self.endless_loops: list[tuple[int, int]] = []

    # -- bookkeeping ------------------------------------------------------------------------

    def tick(self, steps: int = 1) -> None:
        self.steps += steps
        if self.steps > MAX_STEPS:
            raise TooComplex

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def new_sock(
        self,
        origin: str,
        node: ast.AST,
        *,
        label: str | None = None,
        kind: str = "tcp",
        accepted_from: Sock | None = None,
        library: str | None = None,
    ) -> Sock:
        sock = Sock(
            len(self.sockets) + 1,
            origin,
            getattr(node, "lineno", 0),
            label=label,
            kind=kind,
            accepted_from=accepted_from,
            library=library,
        )
        self.sockets.append(sock)
        return sock

    def unknown(self, key: str, label: str) -> Unknown:
        found = self.unknowns.get(key)
        if found is None:
            found = self.unknowns[key] = Unknown(key, label)
        return found

    def record(
        self,
        kind: str,
        sock: Sock,
        node: ast.AST,
        *,
        args: tuple[Value, ...] = (),
        arg_nodes: tuple[ast.expr | None, ...] = (),
        via: str | None = None,
        where: str = "",
        port: int | None = None,
    ) -> Event:
        event = Event(
            seq=self.next_seq(),
            kind=kind,
            sock=sock,
            line=getattr(node, "lineno", 0),
            col=getattr(node, "col_offset", 0),
            reachable=self.reachable,
            function=self.stack[-1] if self.stack else None,
            text=text_of(node),
            args=args,
            arg_nodes=arg_nodes,
            via=via,
            where=where,
            port=port,
        )
        self.events.append(event)
        return event

    # -- the walk -----------------------------------------------------------------------------

    def run(self) -> None:
        self.exec_block(self.tree.body, self.module)
        # Then whatever nothing called (handlers, thread targets we missed, dead helpers), so
        # their events are known, marked unreachable.
        self.reachable = False
        for _ in range(50):
            pending = [f for f in self.defined if id(f.node) not in self.called]
            if not pending:
                break
            for func in pending:
                if id(func.node) in self.called:
                    continue
                self.call_uncalled(func)

    def call_uncalled(self, func: Func) -> None:
        args: list[Value] = []
        params = _params(func.node)
        if func.owner is not None and not func.is_static and params:
            args.append(self.instance_for(func.owner))
            params = params[1:]
        for name in params:
            args.append(self.unknown(f"param:{func.name}:{name}", name))
        if func.owner is not None and not func.is_static:
            init = self.find_method(func.owner, "__init__")
            if init is not None and init is not func and id(init.node) not in self.called:
                self.call_uncalled(init)
        self.inline(func, args, {}, func.node)

    def instance_for(self, cls: ClassVal) -> Instance:
        found = self.instances.get(id(cls))
        if found is None:
            found = Instance(cls, self.library_of(cls), {})
            self.instances[id(cls)] = found
        return found

    def exec_block(self, body: Iterable[ast.stmt], scope: _Scope) -> None:
        statements = list(body)
        for index, statement in enumerate(statements):
            self.exec_stmt(statement, scope)
            if isinstance(statement, ast.Return | ast.Raise | ast.Break | ast.Continue):
                return  # what follows in this block never runs
            if _endless(statement) and index + 1 < len(statements):
                # `while True:` without a break never ends (short of an exception, which
                # skips the rest of this block anyway): the statements after it never run.
                self.endless_loops.append((statement.lineno, statement.col_offset))
                return

    def exec_stmt(self, node: ast.stmt, scope: _Scope) -> None:
        self.tick()
        if isinstance(node, ast.Expr):
            self.eval(node.value, scope)
        elif isinstance(node, ast.Assign):
            value = self.eval(node.value, scope)
            for target in node.targets:
                self.assign(target, value, scope, node)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.assign(node.target, self.eval(node.value, scope), scope, node)
        elif isinstance(node, ast.AugAssign):
            self.eval(node.value, scope)
            self.assign(
                node.target, self.unknown(f"aug:{node.lineno}", text_of(node.target)), scope, node
            )
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.bind_name(alias.asname, Qual(alias.name), scope)
                else:
                    first = alias.name.split(".")[0]
                    self.bind_name(first, Qual(first), scope)
        elif isinstance(node, ast.ImportFrom):
            module = ("." * node.level) + (node.module or "")
            for alias in node.names:
                if alias.name == "*":
                    scope.star_imports.append(module)
                else:
                    self.bind_name(
                        alias.asname or alias.name, Qual(f"{module}.{alias.name}"), scope
                    )
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            self.define_function(node, scope, owner=None)
        elif isinstance(node, ast.ClassDef):
            self.define_class(node, scope)
        elif isinstance(node, ast.Return):
            scope.returns.append(self.eval(node.value, scope) if node.value else Const(None))
        elif isinstance(node, ast.If):
            truth = truth_of(self.eval(node.test, scope))
            if truth is not False:
                self.exec_block(node.body, scope)
            if truth is not True:
                self.exec_block(node.orelse, scope)
        elif isinstance(node, ast.While):
            truth = truth_of(self.eval(node.test, scope))
            if truth is not False:
                self.exec_block(node.body, scope)
            self.exec_block(node.orelse, scope)
        elif isinstance(node, ast.For | ast.AsyncFor):
            iterable = self.eval(node.iter, scope)
            items = (
                iterable.items if isinstance(iterable, Tup) and len(iterable.items) <= 8 else None
            )
            if items:
                for item in items:
                    self.assign(node.target, item, scope, node)
                    self.exec_block(node.body, scope)
            else:
                self.assign(
                    node.target,
                    self.unknown(f"for:{node.lineno}", text_of(node.target)),
                    scope,
                    node,
                )
                self.exec_block(node.body, scope)
            self.exec_block(node.orelse, scope)
        elif isinstance(node, ast.With | ast.AsyncWith):
            for with_item in node.items:
                entered = self.eval(with_item.context_expr, scope)
                if with_item.optional_vars is not None:
                    self.assign(with_item.optional_vars, entered, scope, node)
            self.exec_block(node.body, scope)
        elif isinstance(node, ast.Try | ast.TryStar):
            self.exec_block(node.body, scope)
            for handler in node.handlers:
                if handler.type is not None:
                    self.eval(handler.type, scope)
                if handler.name:
                    self.bind_name(
                        handler.name, self.unknown(f"exc:{handler.lineno}", handler.name), scope
                    )
                self.exec_block(handler.body, scope)
            self.exec_block(node.orelse, scope)
            self.exec_block(node.finalbody, scope)
        elif isinstance(node, ast.Match):
            self.eval(node.subject, scope)
            for case in node.cases:
                self.exec_block(case.body, scope)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            scope.global_names.update(node.names)
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.eval(child, scope)

    def define_function(
        self,
        node: ast.FunctionDef | ast.AsyncFunctionDef,
        scope: _Scope,
        owner: ClassVal | None,
    ) -> Func:
        closure = scope.parent if owner is not None else scope
        defaults = [self.eval(d, scope) for d in node.args.defaults]
        kw_defaults = {
            arg.arg: self.eval(d, scope)
            for arg, d in zip(node.args.kwonlyargs, node.args.kw_defaults, strict=True)
            if d is not None
        }
        decorators = [text_of(d) for d in node.decorator_list]
        for decorator in node.decorator_list:
            self.eval(decorator, scope)
        func = Func(
            node,
            closure or self.module,
            defaults,
            kw_defaults,
            owner=owner,
            is_static="staticmethod" in decorators,
        )
        self.defined.append(func)
        self.bind_name(node.name, func, scope)
        return func

    def define_class(self, node: ast.ClassDef, scope: _Scope) -> None:
        bases = [self.eval(base, scope) for base in node.bases]
        for keyword in node.keywords:
            self.eval(keyword.value, scope)
        cls = ClassVal(node, bases, {})
        body = _Scope(node.name, scope, scope.module)
        for statement in node.body:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                cls.attrs[statement.name] = self.define_function(statement, body, owner=cls)
            else:
                self.exec_stmt(statement, body)
        for name, value in body.vars.items():
            cls.attrs.setdefault(name, value)
        self.bind_name(node.name, cls, scope)

    # -- names and assignment ---------------------------------------------------------------

    def bind_name(self, name: str, value: Value, scope: _Scope) -> None:
        target = scope.module if name in scope.global_names else scope
        target.vars[name] = value

    def lookup(self, name: str, scope: _Scope) -> Value:
        current: _Scope | None = scope
        while current is not None:
            if name in current.vars:
                return current.vars[name]
            current = current.parent
        if name in scope.module.vars:
            return scope.module.vars[name]
        current = scope
        while current is not None:
            for module in current.star_imports:
                if module == "socket" and name in SOCKET_NAMES:
                    return Qual(f"socket.{name}")
                if module in ("socketserver", "asyncio") and f"{module}.{name}" in _STAR_NAMES:
                    return Qual(f"{module}.{name}")
            current = current.parent
        for module in scope.module.star_imports:
            if module == "socket" and name in SOCKET_NAMES:
                return Qual(f"socket.{name}")
        if name in self.fallback_imports:
            return Qual(self.fallback_imports[name])
        if name in _BUILTINS:
            return Qual(f"builtins.{name}")
        return self.unknown(f"name:{scope.name}:{name}", name)

    def assign(self, target: ast.expr, value: Value, scope: _Scope, node: ast.AST) -> None:
        if isinstance(target, ast.Name):
            self.label(value, target.id)
            self.bind_name(target.id, value, scope)
        elif isinstance(target, ast.Attribute):
            base = self.eval(target.value, scope)
            self.label(value, text_of(target))
            self.set_attribute(base, target.attr, value, node)
        elif isinstance(target, ast.Tuple | ast.List):
            elements = target.elts
            if isinstance(value, Tup) and len(value.items) == len(elements):
                for element, item in zip(elements, value.items, strict=True):
                    self.assign(element, item, scope, node)
            else:
                for element in elements:
                    key = f"unpack:{element.lineno}:{element.col_offset}"
                    self.assign(element, self.unknown(key, text_of(element)), scope, node)
        elif isinstance(target, ast.Starred):
            self.assign(
                target.value, self.unknown(f"star:{target.lineno}", text_of(target)), scope, node
            )
        elif isinstance(target, ast.Subscript):
            self.eval(target.value, scope)
            self.eval(target.slice, scope)

    def label(self, value: Value, name: str) -> None:
        if isinstance(value, Sock) and value.label is None:
            value.label = name
        elif isinstance(value, Instance) and value.sock is not None and value.sock.label is None:
            value.sock.label = f"{name}.socket"

    def set_attribute(self, base: Value, attr: str, value: Value, node: ast.AST) -> None:
        line = getattr(node, "lineno", 0)
        col = getattr(node, "col_offset", 0)
        if isinstance(base, Instance):
            if (
                base.library
                and attr == "allow_reuse_address"
                and base.sock is not None
                and any(e.kind == "bind" and e.sock is base.sock for e in self.events)
            ):
                # Too late: the constructor already bound the socket. Record it as the (late)
                # setting it is, so the judge can say so.
                self.record(
                    "setsockopt",
                    base.sock,
                    node,
                    args=(Const(SOL_SOCKET), Const(SO_REUSEADDR), value),
                    via="attribute",
                )
            base.attrs[attr] = value
        elif isinstance(base, ClassVal):
            base.attrs[attr] = value
            self.class_attr_sets.append(
                (self.next_seq(), f"class:{id(base)}", attr, value, line, col)
            )
        elif isinstance(base, Qual):
            self.library_attrs[(base.name, attr)] = (value, line)
            self.class_attr_sets.append((self.next_seq(), base.name, attr, value, line, col))

    # -- expressions --------------------------------------------------------------------------

    def eval(self, node: ast.expr | None, scope: _Scope) -> Value:
        if node is None:
            return Const(None)
        self.tick()
        if isinstance(node, ast.Constant):
            return Const(node.value)
        if isinstance(node, ast.Name):
            return self.lookup(node.id, scope)
        if isinstance(node, ast.Attribute):
            return self.get_attribute(self.eval(node.value, scope), node.attr, node)
        if isinstance(node, ast.Call):
            return self.eval_call(node, scope)
        if isinstance(node, ast.Await):
            return self.eval(node.value, scope)
        if isinstance(node, ast.Tuple | ast.List):
            return Tup(tuple(self.eval(element, scope) for element in node.elts))
        if isinstance(node, ast.UnaryOp):
            return self.eval_unary(node, scope)
        if isinstance(node, ast.BinOp):
            return self.eval_binary(node, scope)
        if isinstance(node, ast.Compare):
            return self.eval_compare(node, scope)
        if isinstance(node, ast.BoolOp):
            values = [self.eval(v, scope) for v in node.values]
            return self.eval_boolop(node, values)
        if isinstance(node, ast.IfExp):
            truth = truth_of(self.eval(node.test, scope))
            body = self.eval(node.body, scope)
            orelse = self.eval(node.orelse, scope)
            if truth is None:
                return self.unknown(f"ifexp:{node.lineno}:{node.col_offset}", text_of(node))
            return body if truth else orelse
        if isinstance(node, ast.NamedExpr):
            value = self.eval(node.value, scope)
            self.assign(node.target, value, scope, node)
            return value
        if isinstance(node, ast.Subscript):
            base = self.eval(node.value, scope)
            index = self.eval(node.slice, scope)
            if isinstance(base, Tup) and isinstance(index, Const) and type(index.value) is int:
                position = index.value
                if -len(base.items) <= position < len(base.items):
                    return base.items[position]
            return self.unknown(f"sub:{node.lineno}:{node.col_offset}", text_of(node))
        if isinstance(node, ast.Lambda):
            return Func(node, scope, [], {})
        if isinstance(node, ast.JoinedStr):
            for part in node.values:
                if isinstance(part, ast.FormattedValue):
                    self.eval(part.value, scope)
            return self.unknown(f"fstr:{node.lineno}:{node.col_offset}", "f-string")
        # Comprehensions, dicts, sets, slices...: not followed, but calls inside them that do
        # not depend on comprehension variables still happen.
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr) and not isinstance(node, ast.comprehension):
                self.eval(child, scope)
        return self.unknown(f"expr:{node.lineno}:{node.col_offset}", text_of(node))

    def eval_unary(self, node: ast.UnaryOp, scope: _Scope) -> Value:
        operand = self.eval(node.operand, scope)
        if isinstance(node.op, ast.Not):
            truth = truth_of(operand)
            return Const(not truth) if truth is not None else self.opaque(node)
        number = number_of(operand)
        if number is None:
            return self.opaque(node)
        if isinstance(node.op, ast.USub):
            return _bounded(-number) or self.opaque(node)
        if isinstance(node.op, ast.UAdd):
            return Const(number)
        if isinstance(node.op, ast.Invert):
            return Const(~number)
        return self.opaque(node)

    def eval_binary(self, node: ast.BinOp, scope: _Scope) -> Value:
        left, right = self.eval(node.left, scope), self.eval(node.right, scope)
        a, b = number_of(left), number_of(right)
        if a is None or b is None:
            return self.opaque(node)
        # Literals may be huge (0x followed by 100,000 digits): arithmetic on them costs steps by
        # their size in 64-bit words, the product of both where the operation is quadratic, so
        # that repeating one (a function called thousands of times) ends at the work budget.
        words_a, words_b = 1 + a.bit_length() // 64, 1 + b.bit_length() // 64
        quadratic = isinstance(node.op, ast.Mult | ast.FloorDiv | ast.Mod)
        self.tick(words_a * words_b // 1024 if quadratic else (words_a + words_b) // 64)
        # Only small, cheap integer arithmetic: `2 ** 10 ** 10` must not hang the analysis.
        operations: dict[type[ast.operator], Callable[[int, int], int | None]] = {
            ast.Add: lambda x, y: x + y,
            ast.Sub: lambda x, y: x - y,
            ast.Mult: lambda x, y: x * y,
            ast.BitOr: lambda x, y: x | y,
            ast.BitAnd: lambda x, y: x & y,
            ast.BitXor: lambda x, y: x ^ y,
            ast.FloorDiv: lambda x, y: x // y if y else None,
            ast.Mod: lambda x, y: x % y if y else None,
            ast.Pow: lambda x, y: x**y if 0 <= y <= 64 and abs(x) <= 1 << 16 else None,
            ast.LShift: lambda x, y: x << y if 0 <= y <= 64 else None,
            ast.RShift: lambda x, y: x >> y if 0 <= y <= 64 else None,
        }
        operation = operations.get(type(node.op))
        result = operation(a, b) if operation else None
        return _bounded(result) or self.opaque(node)

    def eval_compare(self, node: ast.Compare, scope: _Scope) -> Value:
        values = [self.eval(node.left, scope)] + [self.eval(c, scope) for c in node.comparators]
        if len(node.ops) == 1 and all(isinstance(v, Const) for v in values):
            left, right = (v.value for v in values if isinstance(v, Const))
            if isinstance(node.ops[0], ast.Eq):
                return Const(left == right)
            if isinstance(node.ops[0], ast.NotEq):
                return Const(left != right)
        return self.opaque(node)

    def eval_boolop(self, node: ast.BoolOp, values: list[Value]) -> Value:
        truths = [truth_of(v) for v in values]
        if isinstance(node.op, ast.Or):
            for value, truth in zip(values, truths, strict=True):
                if truth is None:
                    return self.opaque(node)
                if truth:
                    return value
            return values[-1]
        for value, truth in zip(values, truths, strict=True):
            if truth is None:
                return self.opaque(node)
            if not truth:
                return value
        return values[-1]

    def opaque(self, node: ast.expr) -> Unknown:
        return self.unknown(f"expr:{node.lineno}:{node.col_offset}", text_of(node))

    def get_attribute(self, base: Value, attr: str, node: ast.AST) -> Value:
        if isinstance(base, Qual):
            return Qual(f"{base.name}.{attr}")
        if isinstance(base, Sock):
            return Bound(base, attr)
        if isinstance(base, Instance):
            if attr in base.attrs:
                return base.attrs[attr]
            if base.cls is not None:
                method = self.find_method(base.cls, attr)
                if method is not None:
                    return method if method.is_static else BoundFunc(method, base)
                found = self.class_attribute(base.cls, attr)
                if found is not None:
                    return found
            if base.library is not None:
                if attr == "socket" and base.sock is not None:
                    return base.sock
                library_value = self.library_attribute(base.library, attr)
                if library_value is not None:
                    return library_value
                return Bound(base, attr)
        if isinstance(base, ClassVal):
            method = self.find_method(base, attr)
            if method is not None:
                return method
            found = self.class_attribute(base, attr)
            if found is not None:
                return found
            library = self.library_of(base)
            if library is not None:
                return Qual(f"{library}.{attr}")
        if isinstance(base, SuperVal):
            return self.super_attribute(base, attr)
        if isinstance(base, Unknown):
            return self.unknown(f"{base.key}.{attr}", f"{base.label}.{attr}")
        line, col = getattr(node, "lineno", 0), getattr(node, "col_offset", 0)
        return self.unknown(f"attr:{line}:{col}", text_of(node))

    def super_attribute(self, base: SuperVal, attr: str) -> Value:
        for parent in base.cls.bases:
            if isinstance(parent, ClassVal):
                method = self.find_method(parent, attr)
                if method is not None:
                    return BoundFunc(method, base.inst)
        if base.inst.library is not None:
            return Bound(base.inst, attr)
        return self.unknown(f"super:{id(base.inst)}:{attr}", f"super().{attr}")

    def find_method(self, cls: ClassVal, name: str, depth: int = 0) -> Func | None:
        found = cls.attrs.get(name)
        if isinstance(found, Func):
            return found
        if depth > 10:
            return None
        for base in cls.bases:
            if isinstance(base, ClassVal):
                method = self.find_method(base, name, depth + 1)
                if method is not None:
                    return method
        return None

    def class_attribute(self, cls: ClassVal, name: str, depth: int = 0) -> Value | None:
        if name in cls.attrs:
            return cls.attrs[name]
        if depth > 10:
            return None
        for base in cls.bases:
            if isinstance(base, ClassVal):
                found = self.class_attribute(base, name, depth + 1)
                if found is not None:
                    return found
        return None

    def library_of(self, cls: ClassVal, depth: int = 0) -> str | None:
        for base in cls.bases:
            if isinstance(base, Qual) and base.name in SERVER_CLASSES:
                return base.name
            if isinstance(base, ClassVal) and depth < 10:
                found = self.library_of(base, depth + 1)
                if found is not None:
                    return found
        return None

    def library_attribute(self, library: str, name: str) -> Value | None:
        for cls in SERVER_CLASSES.get(library, (library,)):
            if (cls, name) in self.library_attrs:
                return self.library_attrs[(cls, name)][0]
            if (cls, name) in LIBRARY_DEFAULTS:
                return Const(LIBRARY_DEFAULTS[(cls, name)])
        return None

    def instance_attribute(self, inst: Instance, name: str) -> Value | None:
        if name in inst.attrs:
            return inst.attrs[name]
        if inst.cls is not None:
            found = self.class_attribute(inst.cls, name)
            if found is not None:
                return found
        if inst.library is not None:
            return self.library_attribute(inst.library, name)
        return None

    # -- calls --------------------------------------------------------------------------------

    def eval_call(self, node: ast.Call, scope: _Scope) -> Value:
        func = self.eval(node.func, scope)
        args: list[Value] = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self.eval(arg.value, scope)
                args.append(self.unknown(f"starred:{arg.lineno}:{arg.col_offset}", text_of(arg)))
            else:
                args.append(self.eval(arg, scope))
        kwargs: dict[str, Value] = {}
        for keyword in node.keywords:
            value = self.eval(keyword.value, scope)
            if keyword.arg is not None:
                kwargs[keyword.arg] = value
        return self.call(func, args, kwargs, node, scope)

    def call(
        self,
        func: Value,
        args: list[Value],
        kwargs: dict[str, Value],
        node: ast.Call | ast.AST,
        scope: _Scope | None = None,
    ) -> Value:
        if isinstance(func, Func):
            return self.inline(func, args, kwargs, node)
        if isinstance(func, BoundFunc):
            return self.inline(func.func, [func.self_value, *args], kwargs, node)
        if isinstance(func, ClassVal):
            return self.instantiate(func, args, kwargs, node)
        if isinstance(func, Qual):
            return self.call_library(func.name, args, kwargs, node, scope)
        if isinstance(func, Bound):
            receiver = func.receiver
            if isinstance(receiver, Sock):
                return self.socket_method(receiver, func.name, args, kwargs, node)
            if isinstance(receiver, Instance):
                return self.server_method(receiver, func.name, args, kwargs, node)
        if isinstance(func, Unknown):
            receiver_key, _, method = func.key.rpartition(".")
            if method in SOCKET_METHODS and receiver_key in self.unknowns:
                stand_in = self.stand_in(self.unknowns[receiver_key], node)
                return self.socket_method(stand_in, method, args, kwargs, node)
        self.run_callbacks(args, kwargs, node)
        return self.unknown(
            f"call:{getattr(node, 'lineno', 0)}:{getattr(node, 'col_offset', 0)}", text_of(node)
        )

    def stand_in(self, unknown: Unknown, node: ast.AST) -> Sock:
        """A socket for an expression the analysis cannot resolve, named after it."""
        if unknown.sock is None:
            unknown.sock = self.new_sock("stand-in", node, label=unknown.label)
        return unknown.sock

    def run_callbacks(self, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> None:
        """Functions handed to code we do not follow (threads, handlers) still run, probably."""
        target = kwargs.get("target")
        if isinstance(target, Func | BoundFunc):
            extra = kwargs.get("args")
            positional = list(extra.items) if isinstance(extra, Tup) else []
            self.call(target, positional, {}, node)
        for value in [*args, *kwargs.values()]:
            if isinstance(value, Func) and id(value.node) not in self.called:
                params = _params(value.node)
                unknowns: list[Value] = [self.unknown(f"param:{value.name}:{p}", p) for p in params]
                self.inline(value, unknowns, {}, node)

    def inline(
        self, func: Func, args: list[Value], kwargs: dict[str, Value], node: ast.AST
    ) -> Value:
        self.called.add(id(func.node))
        if len(self.stack) >= MAX_DEPTH or any(f.node is func.node for f in self.stack):
            return self.unknown(f"recursive:{id(func.node)}", func.name)
        scope = _Scope(func.name, func.scope, func.scope.module)
        self.bind_parameters(func, args, kwargs, scope)
        self.stack.append(func)
        try:
            if isinstance(func.node, ast.Lambda):
                return self.eval(func.node.body, scope)
            self.exec_block(func.node.body, scope)
        finally:
            self.stack.pop()
        for value in scope.returns:
            if not isinstance(value, Const | Unknown):
                return value
        if scope.returns:
            return scope.returns[0]
        return Const(None)

    def bind_parameters(
        self, func: Func, args: list[Value], kwargs: dict[str, Value], scope: _Scope
    ) -> None:
        spec = func.node.args
        positional = [a.arg for a in spec.posonlyargs + spec.args]
        defaults = dict(
            zip(positional[len(positional) - len(func.defaults) :], func.defaults, strict=True)
        )
        for index, name in enumerate(positional):
            if index < len(args):
                value = args[index]
            elif name in kwargs:
                value = kwargs[name]
            elif name in defaults:
                value = defaults[name]
            else:
                value = self.unknown(f"param:{func.name}:{name}", name)
            scope.vars[name] = value
        for arg in spec.kwonlyargs:
            scope.vars[arg.arg] = kwargs.get(
                arg.arg,
                func.kw_defaults.get(
                    arg.arg, self.unknown(f"param:{func.name}:{arg.arg}", arg.arg)
                ),
            )
        if spec.vararg is not None:
            scope.vars[spec.vararg.arg] = Tup(tuple(args[len(positional) :]))
        if spec.kwarg is not None:
            scope.vars[spec.kwarg.arg] = self.unknown(f"param:{func.name}:**", spec.kwarg.arg)
        if func.owner is not None and "super" not in scope.vars:
            owner = func.owner
            first = args[0] if args else None
            if isinstance(first, Instance):
                scope.vars["__class_cell__"] = SuperVal(first, owner)

    def instantiate(
        self, cls: ClassVal, args: list[Value], kwargs: dict[str, Value], node: ast.AST
    ) -> Value:
        inst = Instance(cls, self.library_of(cls), {})
        self.instances[id(cls)] = inst
        init = self.find_method(cls, "__init__")
        if init is not None:
            self.inline(init, [inst, *args], kwargs, node)
        elif inst.library is not None:
            self.construct_server(inst, args, kwargs, node)
        return inst

    def call_library(
        self,
        name: str,
        args: list[Value],
        kwargs: dict[str, Value],
        node: ast.AST,
        scope: _Scope | None,
    ) -> Value:
        short = name.removeprefix("_socket.").removeprefix("builtins.")
        if name in ("socket.socket", "socket.SocketType", "_socket.socket"):
            kind = args[1] if len(args) > 1 else kwargs.get("type", Const(1))
            udp = number_of(kind) == SOCKET_CONSTANTS["SOCK_DGRAM"]
            return self.new_sock("socket", node, kind="udp" if udp else "tcp")
        if name == "socket.create_server":
            sock = self.new_sock("create_server", node)
            address = args[0] if args else kwargs.get("address", Const(None))
            self.record(
                "setsockopt",
                sock,
                node,
                args=(Const(SOL_SOCKET), Const(SO_REUSEADDR), Const(1)),
                via="create_server",
            )
            self.record("bind", sock, node, via="create_server", port=_port_of(address))
            self.record("listen", sock, node, via="create_server")
            return sock
        if name == "socket.create_connection":
            sock = self.new_sock("client", node)
            self.record("connect", sock, node)
            return sock
        if name in SERVER_CLASSES:
            inst = Instance(None, name, {})
            self.construct_server(inst, args, kwargs, node)
            return inst
        if name in ASYNCIO_SERVERS or (
            name.startswith("asyncio.") and name.endswith(".create_server")
        ):
            return self.asyncio_server(name, args, kwargs, node)
        if name in LOOP_GETTERS:
            return Qual("asyncio.loop")
        method = name.rpartition(".")[2]
        owner = name.rpartition(".")[0]
        if owner in SERVER_CLASSES and args and isinstance(args[0], Instance):
            # socketserver.TCPServer.server_bind(self), .__init__(self, ...), ...
            return self.server_method(args[0], method, args[1:], kwargs, node)
        if owner in ("socket.socket", "socket.SocketType") and args and isinstance(args[0], Sock):
            return self.socket_method(args[0], method, args[1:], kwargs, node)
        if name == "struct.pack":
            return _struct_pack(args)
        if short in ("int", "bool") and len(args) == 1:
            number = number_of(args[0])
            truth = truth_of(args[0])
            if short == "bool" and truth is not None:
                return Const(truth)
            if short == "int" and number is not None:
                return Const(int(number))
        if short == "super" and scope is not None:
            cell = self.lookup("__class_cell__", scope)
            if isinstance(cell, SuperVal):
                return cell
        if short in ("exec", "eval") and args:
            text = args[0].value if isinstance(args[0], Const) else None
            if isinstance(text, str) and MENTION.search(text):
                self.exec_strings.append(
                    (getattr(node, "lineno", 0), getattr(node, "col_offset", 0), short)
                )
        self.run_callbacks(args, kwargs, node)
        return self.unknown(
            f"call:{getattr(node, 'lineno', 0)}:{getattr(node, 'col_offset', 0)}", text_of(node)
        )

    def asyncio_server(
        self, name: str, args: list[Value], kwargs: dict[str, Value], node: ast.AST
    ) -> Value:
        callback = (
            args[0] if args else kwargs.get("client_connected_cb", kwargs.get("protocol_factory"))
        )
        given = kwargs.get("sock")
        if isinstance(given, Sock):
            # asyncio uses the learner's own socket as it is: options are theirs to set.
            self.record("listen", given, node, via="asyncio")
            self.record("accept", given, node, via="asyncio")
        else:
            sock = self.new_sock("asyncio", node, label="the asyncio server's socket")
            port = args[2] if len(args) > 2 else kwargs.get("port", Const(None))
            reuse = kwargs.get("reuse_address", Const(None))
            explicit = not (isinstance(reuse, Const) and reuse.value is None)
            value: Value = reuse if explicit else Const(1)
            where = " (you pass reuse_address=True)" if explicit else " (its default on Unix)"
            if truth_of(value) is False:
                sock.library_off = "asyncio"
            else:
                self.record(
                    "setsockopt",
                    sock,
                    node,
                    args=(Const(SOL_SOCKET), Const(SO_REUSEADDR), value),
                    via="asyncio",
                    where=where,
                )
            reuse_port = kwargs.get("reuse_port")
            if reuse_port is not None and truth_of(reuse_port):
                self.record(
                    "setsockopt",
                    sock,
                    node,
                    args=(Const(1), Const(SO_REUSEPORT), Const(1)),
                    via="asyncio",
                )
            self.record("bind", sock, node, via="asyncio", port=number_of(port))
            self.record("listen", sock, node, via="asyncio")
            self.record("accept", sock, node, via="asyncio")
        if callback is not None:
            self.run_callbacks([callback], {}, node)
        return self.unknown(f"asyncio-server:{getattr(node, 'lineno', 0)}", "server")

    def construct_server(
        self, inst: Instance, args: list[Value], kwargs: dict[str, Value], node: ast.AST
    ) -> None:
        library = inst.library or "socketserver.TCPServer"
        kind = "udp" if library in UDP_SERVERS else "tcp"
        inst.sock = self.new_sock("socketserver", node, kind=kind, library=library)
        address = args[0] if args else kwargs.get("server_address", Const(None))
        inst.attrs.setdefault("server_address", address)
        handler = args[1] if len(args) > 1 else kwargs.get("RequestHandlerClass")
        activate = args[2] if len(args) > 2 else kwargs.get("bind_and_activate", Const(True))
        if truth_of(activate) is not False:
            self.call(self.get_attribute(inst, "server_bind", node), [], {}, node)
            self.call(self.get_attribute(inst, "server_activate", node), [], {}, node)
        if isinstance(handler, ClassVal):
            handle = self.find_method(handler, "handle")
            if handle is not None and id(handle.node) not in self.called:
                self.call_uncalled_reachable(handle)

    def call_uncalled_reachable(self, func: Func) -> None:
        """Request handlers run for each connection; walk them like code that runs."""
        args: list[Value] = []
        params = _params(func.node)
        if func.owner is not None and params:
            args.append(self.instance_for(func.owner))
            params = params[1:]
        args.extend(self.unknown(f"param:{func.name}:{p}", p) for p in params)
        self.inline(func, args, {}, func.node)

    def server_method(
        self,
        inst: Instance,
        method: str,
        args: list[Value],
        kwargs: dict[str, Value],
        node: ast.AST,
    ) -> Value:
        if method == "__init__":
            self.construct_server(inst, args, kwargs, node)
            return Const(None)
        sock = inst.sock
        if sock is None:
            inst.sock = sock = self.new_sock("socketserver", node, library=inst.library)
        library = inst.library or "socketserver.TCPServer"
        if method == "server_bind":
            reuse = self.instance_attribute(inst, "allow_reuse_address") or Const(False)
            truth = truth_of(reuse)
            if truth is False:
                sock.library_off = library
            else:
                self.record(
                    "setsockopt",
                    sock,
                    node,
                    args=(Const(SOL_SOCKET), Const(SO_REUSEADDR), reuse),
                    via="socketserver",
                    where=_library_where(library, inst),
                )
            reuse_port = self.instance_attribute(inst, "allow_reuse_port")
            if reuse_port is not None and truth_of(reuse_port):
                self.record(
                    "setsockopt",
                    sock,
                    node,
                    args=(Const(SOL_SOCKET), Const(SO_REUSEPORT), reuse_port),
                    via="socketserver",
                )
            address = self.instance_attribute(inst, "server_address") or Const(None)
            self.record("bind", sock, node, via="socketserver", port=_port_of(address))
            return Const(None)
        if method == "server_activate":
            if sock.kind == "tcp":
                self.record("listen", sock, node, via="socketserver")
            return Const(None)
        if method in ("serve_forever", "handle_request", "get_request"):
            if sock.kind == "tcp":
                self.record("accept", sock, node, via="socketserver")
            return Const(None)
        return self.unknown(
            f"call:{getattr(node, 'lineno', 0)}:{getattr(node, 'col_offset', 0)}", text_of(node)
        )

    def socket_method(
        self,
        sock: Sock,
        method: str,
        args: list[Value],
        kwargs: dict[str, Value],
        node: ast.AST,
    ) -> Value:
        call_args: tuple[ast.expr | None, ...] = ()
        if isinstance(node, ast.Call):
            call_args = tuple(node.args)
        if method == "setsockopt":
            values = tuple(args[:3])
            self.record("setsockopt", sock, node, args=values, arg_nodes=call_args[:3])
            return Const(None)
        if method == "bind":
            address = args[0] if args else kwargs.get("address", Const(None))
            self.record("bind", sock, node, port=_port_of(address))
            return Const(None)
        if method == "listen":
            self.record("listen", sock, node)
            return Const(None)
        if method == "accept":
            self.record("accept", sock, node)
            conn = self.new_sock("accepted", node, accepted_from=sock)
            address = self.unknown(
                f"peer:{getattr(node, 'lineno', 0)}:{getattr(node, 'col_offset', 0)}", "address"
            )
            return Tup((conn, address))
        if method in ("connect", "connect_ex"):
            self.record("connect", sock, node)
            return Const(None)
        if method in ("__enter__", "dup"):
            return sock
        return self.unknown(
            f"call:{getattr(node, 'lineno', 0)}:{getattr(node, 'col_offset', 0)}", text_of(node)
        )


def _library_where(library: str, inst: Instance) -> str:
    if "allow_reuse_address" in inst.attrs:
        return " (you set it on the server object before server_bind())"
    if inst.cls is not None:
        return (
            " (your class sets allow_reuse_address)"
            if _has_attr(inst.cls, "allow_reuse_address")
            else ""
        )
    if library.startswith("http.server") or library.startswith("xmlrpc"):
        return f" ({library.rpartition('.')[2]} sets it for you)"
    return ""


def _has_attr(cls: ClassVal, name: str, depth: int = 0) -> bool:
    if name in cls.attrs:
        return True
    return depth < 10 and any(
        _has_attr(b, name, depth + 1) for b in cls.bases if isinstance(b, ClassVal)
    )


def _port_of(address: Value) -> int | None:
    if isinstance(address, Tup) and len(address.items) >= 2:
        port = address.items[1]
        if isinstance(port, Const) and type(port.value) is int:
            return port.value
    return None


def _struct_pack(args: list[Value]) -> Value:
    if args and all(isinstance(a, Const) for a in args):
        values = [a.value for a in args if isinstance(a, Const)]
        fmt = values[0]
        if isinstance(fmt, str) and len(fmt) <= 8 and all(isinstance(v, int) for v in values[1:]):
            try:
                return Const(struct.pack(fmt, *values[1:]))
            except (struct.error, TypeError, OverflowError):
                return Const(None)
    return Const(None)


def _endless(statement: ast.stmt) -> bool:
    if not isinstance(statement, ast.While) or statement.orelse:
        return False
    if not isinstance(statement.test, ast.Constant) or not statement.test.value:
        return False
    return not _breaks_out(statement.body)


def _breaks_out(body: list[ast.stmt]) -> bool:
    """Whether a `break` or `return` in `body` leaves the loop that owns `body`."""
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Break | ast.Return):
            return True
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        for child in ast.iter_child_nodes(node):
            # A break inside a nested loop ends that loop, not ours; a return still leaves.
            if isinstance(child, ast.For | ast.AsyncFor | ast.While):
                stack.extend(n for n in ast.walk(child) if isinstance(n, ast.Return))
                stack.extend(child.orelse)
            else:
                stack.append(child)
    return False


def _params(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> list[str]:
    spec = node.args
    return [a.arg for a in spec.posonlyargs + spec.args]


def text_of(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except Exception:  # unparse can fail on odd trees; a label is all we need
        return "<expression>"
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77] + "..."


def _collect_imports(tree: ast.Module) -> dict[str, str]:
    """Names imported anywhere, for code walked out of order (functions nothing calls)."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    first = alias.name.split(".")[0]
                    names[first] = first
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name != "*":
                    names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


_BUILTINS = frozenset({"int", "bool", "exec", "eval", "super", "print", "len", "range"})
_STAR_NAMES = frozenset(
    {
        *(
            f"socketserver.{n}"
            for n in (
                "TCPServer",
                "ThreadingTCPServer",
                "ForkingTCPServer",
                "UDPServer",
                "ThreadingUDPServer",
            )
        ),
        "asyncio.start_server",
        "asyncio.get_event_loop",
        "asyncio.get_running_loop",
        "asyncio.new_event_loop",
        "asyncio.run",
    }
)
