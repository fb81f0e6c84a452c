"""The abstract interpreter behind the reuse-address analysis (see `analysis` for the idea).

It walks a parsed program in execution order and records what happens to sockets as `Event`s
in a `Trace`. It never runs anything: every value is what the analysis can tell about it (see
`values`), and anything it cannot resolve is an `Unknown`, never a guess. What library calls do
to the option comes from the tables in `library_models`.

Statements and expressions are dispatched on their node class through two tables (`_STATEMENTS`,
`_EXPRESSIONS`), looked up by `type(node)`: one small method per node type, each found in one
place (why tables rather than `functools.singledispatchmethod`: README, performance notes).
"""

from __future__ import annotations

import ast
import struct
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from sockdojo.challenges.reuse_address.facts import (
    MENTION,
    SO_REUSEADDR,
    SO_REUSEPORT,
    SOCKET_CONSTANTS,
    SOCKET_NAMES,
    SOL_SOCKET,
)
from sockdojo.challenges.reuse_address.library_models import (
    BIND_AND_ACTIVATE,
    DEFAULT_SERVER_CLASS,
    LOOP_GETTERS,
    REQUEST_HANDLER,
    REUSE_ADDRESS_ATTRIBUTE,
    REUSE_PORT_ATTRIBUTE,
    SERVER_ADDRESS,
    SERVER_CLASSES,
    SERVING_METHODS,
    SOCKET_CLASSES,
    SOCKET_CONSTRUCTORS,
    SOCKET_METHODS,
    SOCKET_TYPE,
    STAR_IMPORTED,
    ServerFunction,
    chain_of,
    reuses_by_default,
    server_function,
)
from sockdojo.challenges.reuse_address.trace import (
    ClassAttrSet,
    Event,
    EventKind,
    ExecString,
    Place,
    Trace,
    Via,
)
from sockdojo.challenges.reuse_address.values import (
    Bound,
    BoundFunc,
    ClassVal,
    Const,
    Func,
    Instance,
    Qual,
    Scope,
    Sock,
    SockKind,
    SockOrigin,
    SuperVal,
    Tup,
    Unknown,
    Value,
    bounded,
    class_attribute,
    find_method,
    mro,
    number_of,
    port_of,
    text_of,
    truth_of,
)

MAX_STEPS = 60_000  # statements and expressions evaluated, over the whole walk
MAX_DEPTH = 24  # nested inlined calls


class TooComplex(Exception):
    pass


class Arguments(NamedTuple):
    """A call handed to the library: the values of its arguments, and where it is."""

    args: list[Value]
    kwargs: dict[str, Value]
    node: ast.AST


class Interpreter:
    def __init__(self, tree: ast.Module) -> None:
        self.trace = Trace(tree)
        self.module = Scope("<module>", None, None)
        self.module.vars["__name__"] = Const("__main__")
        self.fallback_imports = _collect_imports(tree)
        self.unknowns: dict[str, Unknown] = {}
        self.defined: list[Func] = []
        self.called: set[int] = set()  # id() of the nodes of the functions walked so far
        self.instances: dict[int, Instance] = {}  # the last instance of each class, by id()
        self.library_attrs: dict[tuple[str, str], Value] = {}  # set on library classes
        self.stack: list[Func] = []
        self.reachable = True  # False while walking functions nothing called
        self.steps = 0
        self.seq = 0

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
        origin: SockOrigin,
        node: ast.AST,
        *,
        label: str | None = None,
        kind: SockKind = "tcp",
        accepted_from: Sock | None = None,
        library: str | None = None,
    ) -> Sock:
        line = getattr(node, "lineno", 0)
        sock = Sock(len(self.trace.sockets) + 1, origin, line, label, kind, accepted_from, library)
        self.trace.sockets.append(sock)
        return sock

    def unknown(self, key: str, label: str) -> Unknown:
        found = self.unknowns.get(key)
        if found is None:
            found = self.unknowns[key] = Unknown(key, label)
        return found

    def unknown_result(self, node: ast.AST) -> Unknown:
        """What a call returns when the analysis does not know the function."""
        line, col = getattr(node, "lineno", 0), getattr(node, "col_offset", 0)
        return self.unknown(f"call:{line}:{col}", text_of(node))

    def opaque(self, node: ast.expr) -> Unknown:
        return self.unknown(f"expr:{node.lineno}:{node.col_offset}", text_of(node))

    def record(
        self,
        kind: EventKind,
        sock: Sock,
        node: ast.AST,
        *,
        args: tuple[Value, ...] = (),
        arg_nodes: tuple[ast.expr | None, ...] = (),
        via: Via | None = None,
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
        self.trace.events.append(event)
        return event

    # -- the walk -----------------------------------------------------------------------------

    def run(self) -> Trace:
        self.exec_block(self.trace.tree.body, self.module)
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
        return self.trace

    def placeholder_args(self, func: Func, *, with_self: bool) -> list[Value]:
        """Arguments for a call the program does not make: its instance, then unknowns."""
        args: list[Value] = []
        params = _params(func.node)
        if with_self and func.owner is not None and params:
            args.append(self.instance_for(func.owner))
            params = params[1:]
        args.extend(self.unknown(f"param:{func.name}:{name}", name) for name in params)
        return args

    def call_uncalled(self, func: Func) -> None:
        method = func.owner is not None and not func.is_static
        args = self.placeholder_args(func, with_self=method)
        if method and func.owner is not None:
            init = find_method(func.owner, "__init__")
            if init is not None and init is not func and id(init.node) not in self.called:
                self.call_uncalled(init)
        self.inline(func, args, {}, func.node)

    def call_uncalled_reachable(self, func: Func) -> None:
        """Request handlers run for each connection; walk them like code that runs."""
        self.inline(func, self.placeholder_args(func, with_self=True), {}, func.node)

    def instance_for(self, cls: ClassVal) -> Instance:
        found = self.instances.get(id(cls))
        if found is None:
            found = Instance(cls, self.library_of(cls), {})
            self.instances[id(cls)] = found
        return found

    def exec_block(self, body: Iterable[ast.stmt], scope: Scope) -> None:
        statements = list(body)
        for index, statement in enumerate(statements):
            self.exec_stmt(statement, scope)
            if isinstance(statement, ast.Return | ast.Raise | ast.Break | ast.Continue):
                return  # what follows in this block never runs
            if _endless(statement) and index + 1 < len(statements):
                # `while True:` without a break never ends (short of an exception, which
                # skips the rest of this block anyway): the statements after it never run.
                self.trace.endless_loops.append(Place(statement.lineno, statement.col_offset))
                return

    def exec_stmt(self, node: ast.stmt, scope: Scope) -> None:
        self.tick()
        _STATEMENTS.get(type(node), Interpreter.exec_other)(self, node, scope)

    # -- statements, one method per node class (see _STATEMENTS) ----------------------------

    def exec_expr(self, node: ast.Expr, scope: Scope) -> None:
        self.eval(node.value, scope)

    def exec_assign(self, node: ast.Assign, scope: Scope) -> None:
        value = self.eval(node.value, scope)
        for target in node.targets:
            self.assign(target, value, scope, node)

    def exec_ann_assign(self, node: ast.AnnAssign, scope: Scope) -> None:
        if node.value is not None:
            self.assign(node.target, self.eval(node.value, scope), scope, node)

    def exec_aug_assign(self, node: ast.AugAssign, scope: Scope) -> None:
        self.eval(node.value, scope)
        value = self.unknown(f"aug:{node.lineno}", text_of(node.target))
        self.assign(node.target, value, scope, node)

    def exec_import(self, node: ast.Import, scope: Scope) -> None:
        for alias in node.names:
            if alias.asname:
                self.bind_name(alias.asname, Qual(alias.name), scope)
            else:
                first = alias.name.split(".")[0]
                self.bind_name(first, Qual(first), scope)

    def exec_import_from(self, node: ast.ImportFrom, scope: Scope) -> None:
        module = ("." * node.level) + (node.module or "")
        for alias in node.names:
            if alias.name == "*":
                scope.star_imports.append(module)
            else:
                self.bind_name(alias.asname or alias.name, Qual(f"{module}.{alias.name}"), scope)

    def exec_function_def(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope) -> None:
        self.define_function(node, scope, owner=None)

    def exec_class_def(self, node: ast.ClassDef, scope: Scope) -> None:
        self.define_class(node, scope)

    def exec_return(self, node: ast.Return, scope: Scope) -> None:
        scope.returns.append(self.eval(node.value, scope) if node.value else Const(None))

    def exec_if(self, node: ast.If, scope: Scope) -> None:
        truth = truth_of(self.eval(node.test, scope))
        if truth is not False:
            self.exec_block(node.body, scope)
        if truth is not True:
            self.exec_block(node.orelse, scope)

    def exec_while(self, node: ast.While, scope: Scope) -> None:
        truth = truth_of(self.eval(node.test, scope))
        if truth is not False:
            self.exec_block(node.body, scope)
        self.exec_block(node.orelse, scope)

    def exec_for(self, node: ast.For | ast.AsyncFor, scope: Scope) -> None:
        iterable = self.eval(node.iter, scope)
        items = iterable.items if isinstance(iterable, Tup) and len(iterable.items) <= 8 else None
        if items:
            for item in items:
                self.assign(node.target, item, scope, node)
                self.exec_block(node.body, scope)
        else:
            value = self.unknown(f"for:{node.lineno}", text_of(node.target))
            self.assign(node.target, value, scope, node)
            self.exec_block(node.body, scope)
        self.exec_block(node.orelse, scope)

    def exec_with(self, node: ast.With | ast.AsyncWith, scope: Scope) -> None:
        for with_item in node.items:
            entered = self.eval(with_item.context_expr, scope)
            if with_item.optional_vars is not None:
                self.assign(with_item.optional_vars, entered, scope, node)
        self.exec_block(node.body, scope)

    def exec_try(self, node: ast.Try | ast.TryStar, scope: Scope) -> None:
        self.exec_block(node.body, scope)
        for handler in node.handlers:
            if handler.type is not None:
                self.eval(handler.type, scope)
            if handler.name:
                error = self.unknown(f"exc:{handler.lineno}", handler.name)
                self.bind_name(handler.name, error, scope)
            self.exec_block(handler.body, scope)
        self.exec_block(node.orelse, scope)
        self.exec_block(node.finalbody, scope)

    def exec_match(self, node: ast.Match, scope: Scope) -> None:
        self.eval(node.subject, scope)
        for case in node.cases:
            self.exec_block(case.body, scope)

    def exec_global(self, node: ast.Global | ast.Nonlocal, scope: Scope) -> None:
        scope.global_names.update(node.names)

    def exec_other(self, node: ast.stmt, scope: Scope) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.eval(child, scope)

    def define_function(
        self,
        node: ast.FunctionDef | ast.AsyncFunctionDef,
        scope: Scope,
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

    def define_class(self, node: ast.ClassDef, scope: Scope) -> None:
        bases = [self.eval(base, scope) for base in node.bases]
        for keyword in node.keywords:
            self.eval(keyword.value, scope)
        cls = ClassVal(node, bases, {})
        body = Scope(node.name, scope, scope.module)
        for statement in node.body:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                cls.attrs[statement.name] = self.define_function(statement, body, owner=cls)
            else:
                self.exec_stmt(statement, body)
        for name, value in body.vars.items():
            cls.attrs.setdefault(name, value)
        self.bind_name(node.name, cls, scope)

    # -- names and assignment ---------------------------------------------------------------

    def bind_name(self, name: str, value: Value, scope: Scope) -> None:
        target = scope.module if name in scope.global_names else scope
        target.vars[name] = value

    def lookup(self, name: str, scope: Scope) -> Value:
        current: Scope | None = scope
        while current is not None:
            if name in current.vars:
                return current.vars[name]
            current = current.parent
        if name in scope.module.vars:
            return scope.module.vars[name]
        return self.lookup_imported(name, scope)

    def lookup_imported(self, name: str, scope: Scope) -> Value:
        """A name no scope defines: from a star import, an import elsewhere, or builtins."""
        current: Scope | None = scope
        while current is not None:
            for module in current.star_imports:
                if module == "socket" and name in SOCKET_NAMES:
                    return Qual(f"socket.{name}")
                if module in ("socketserver", "asyncio") and f"{module}.{name}" in STAR_IMPORTED:
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

    def assign(self, target: ast.expr, value: Value, scope: Scope, node: ast.AST) -> None:
        match target:
            case ast.Name():
                self.label(value, target.id)
                self.bind_name(target.id, value, scope)
            case ast.Attribute():
                base = self.eval(target.value, scope)
                self.label(value, text_of(target))
                self.set_attribute(base, target.attr, value, node)
            case ast.Tuple() | ast.List():
                self.assign_items(target.elts, value, scope, node)
            case ast.Starred():
                unpacked = self.unknown(f"star:{target.lineno}", text_of(target))
                self.assign(target.value, unpacked, scope, node)
            case ast.Subscript():
                self.eval(target.value, scope)
                self.eval(target.slice, scope)

    def assign_items(
        self, elements: list[ast.expr], value: Value, scope: Scope, node: ast.AST
    ) -> None:
        if isinstance(value, Tup) and len(value.items) == len(elements):
            for element, item in zip(elements, value.items, strict=True):
                self.assign(element, item, scope, node)
        else:
            for element in elements:
                key = f"unpack:{element.lineno}:{element.col_offset}"
                self.assign(element, self.unknown(key, text_of(element)), scope, node)

    def label(self, value: Value, name: str) -> None:
        if isinstance(value, Sock) and value.label is None:
            value.label = name
        elif isinstance(value, Instance) and value.sock is not None and value.sock.label is None:
            value.sock.label = f"{name}.socket"

    def set_attribute(self, base: Value, attr: str, value: Value, node: ast.AST) -> None:
        line = getattr(node, "lineno", 0)
        col = getattr(node, "col_offset", 0)
        match base:
            case Instance(sock=Sock() as sock) if base.library and attr == REUSE_ADDRESS_ATTRIBUTE:
                if any(e.kind == "bind" and e.sock is sock for e in self.trace.events):
                    # Too late: the constructor already bound the socket. Record it as the
                    # (late) setting it is, so the judge can say so.
                    self.record_reuse(sock, node, value, via="attribute")
                base.attrs[attr] = value
            case Instance():
                base.attrs[attr] = value
            case ClassVal():
                base.attrs[attr] = value
                owner = f"class:{id(base)}"
                self.trace.class_attr_sets.append(
                    ClassAttrSet(self.next_seq(), owner, attr, value, line, col)
                )
            case Qual():
                self.library_attrs[(base.name, attr)] = value
                self.trace.class_attr_sets.append(
                    ClassAttrSet(self.next_seq(), base.name, attr, value, line, col)
                )

    # -- expressions, one method per node class (see _EXPRESSIONS) ----------------------------

    def eval(self, node: ast.expr | None, scope: Scope) -> Value:
        if node is None:
            return Const(None)
        self.tick()
        return _EXPRESSIONS.get(type(node), Interpreter.eval_other)(self, node, scope)

    def eval_constant(self, node: ast.Constant, scope: Scope) -> Value:
        return Const(node.value)

    def eval_name(self, node: ast.Name, scope: Scope) -> Value:
        return self.lookup(node.id, scope)

    def eval_attribute(self, node: ast.Attribute, scope: Scope) -> Value:
        return self.get_attribute(self.eval(node.value, scope), node.attr, node)

    def eval_await(self, node: ast.Await, scope: Scope) -> Value:
        return self.eval(node.value, scope)

    def eval_sequence(self, node: ast.Tuple | ast.List, scope: Scope) -> Value:
        return Tup(tuple(self.eval(element, scope) for element in node.elts))

    def eval_if_exp(self, node: ast.IfExp, scope: Scope) -> Value:
        truth = truth_of(self.eval(node.test, scope))
        body = self.eval(node.body, scope)
        orelse = self.eval(node.orelse, scope)
        if truth is None:
            return self.unknown(f"ifexp:{node.lineno}:{node.col_offset}", text_of(node))
        return body if truth else orelse

    def eval_named(self, node: ast.NamedExpr, scope: Scope) -> Value:
        value = self.eval(node.value, scope)
        self.assign(node.target, value, scope, node)
        return value

    def eval_subscript(self, node: ast.Subscript, scope: Scope) -> Value:
        base = self.eval(node.value, scope)
        index = self.eval(node.slice, scope)
        if isinstance(base, Tup) and isinstance(index, Const) and type(index.value) is int:
            position = index.value
            if -len(base.items) <= position < len(base.items):
                return base.items[position]
        return self.unknown(f"sub:{node.lineno}:{node.col_offset}", text_of(node))

    def eval_lambda(self, node: ast.Lambda, scope: Scope) -> Value:
        return Func(node, scope, [], {})

    def eval_f_string(self, node: ast.JoinedStr, scope: Scope) -> Value:
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                self.eval(part.value, scope)
        return self.unknown(f"fstr:{node.lineno}:{node.col_offset}", "f-string")

    def eval_other(self, node: ast.expr, scope: Scope) -> Value:
        # Comprehensions, dicts, sets, slices...: not followed, but calls inside them that do
        # not depend on comprehension variables still happen.
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.eval(child, scope)
        return self.opaque(node)

    def eval_unary(self, node: ast.UnaryOp, scope: Scope) -> Value:
        operand = self.eval(node.operand, scope)
        if isinstance(node.op, ast.Not):
            truth = truth_of(operand)
            return Const(not truth) if truth is not None else self.opaque(node)
        number = number_of(operand)
        if number is None:
            return self.opaque(node)
        if isinstance(node.op, ast.USub):
            return bounded(-number) or self.opaque(node)
        if isinstance(node.op, ast.UAdd):
            return Const(number)
        if isinstance(node.op, ast.Invert):
            return Const(~number)
        return self.opaque(node)

    def eval_binary(self, node: ast.BinOp, scope: Scope) -> Value:
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
        operation = _OPERATIONS.get(type(node.op))
        result = operation(a, b) if operation else None
        return bounded(result) or self.opaque(node)

    def eval_compare(self, node: ast.Compare, scope: Scope) -> Value:
        values = [self.eval(node.left, scope)] + [self.eval(c, scope) for c in node.comparators]
        if len(node.ops) == 1 and all(isinstance(v, Const) for v in values):
            left, right = (v.value for v in values if isinstance(v, Const))
            if isinstance(node.ops[0], ast.Eq):
                return Const(left == right)
            if isinstance(node.ops[0], ast.NotEq):
                return Const(left != right)
        return self.opaque(node)

    def eval_boolop(self, node: ast.BoolOp, scope: Scope) -> Value:
        values = [self.eval(v, scope) for v in node.values]
        # `or` ends at the first true value, `and` at the first false one; an unknown on the
        # way makes the whole unknown.
        stop_at = isinstance(node.op, ast.Or)
        for value in values:
            truth = truth_of(value)
            if truth is None:
                return self.opaque(node)
            if truth is stop_at:
                return value
        return values[-1]

    # -- attributes ---------------------------------------------------------------------------

    def get_attribute(self, base: Value, attr: str, node: ast.AST) -> Value:
        match base:
            case Qual():
                return Qual(f"{base.name}.{attr}")
            case Sock():
                return Bound(base, attr)
            case Instance():
                found = self.instance_member(base, attr)
            case ClassVal():
                found = self.class_member(base, attr)
            case SuperVal():
                return self.super_attribute(base, attr)
            case Unknown():
                return self.unknown(f"{base.key}.{attr}", f"{base.label}.{attr}")
            case _:
                found = None
        if found is not None:
            return found
        line, col = getattr(node, "lineno", 0), getattr(node, "col_offset", 0)
        return self.unknown(f"attr:{line}:{col}", text_of(node))

    def instance_member(self, base: Instance, attr: str) -> Value | None:
        if attr not in base.attrs and base.cls is not None:
            method = find_method(base.cls, attr)
            if method is not None:
                return method if method.is_static else BoundFunc(method, base)
        found = self.program_attribute(base, attr)
        if found is not None or base.library is None:
            return found
        if attr == "socket" and base.sock is not None:
            return base.sock
        return self.library_attribute(base.library, attr) or Bound(base, attr)

    def class_member(self, base: ClassVal, attr: str) -> Value | None:
        found: Value | None = find_method(base, attr) or class_attribute(base, attr)
        if found is not None:
            return found
        library = self.library_of(base)
        return Qual(f"{library}.{attr}") if library is not None else None

    def super_attribute(self, base: SuperVal, attr: str) -> Value:
        for parent in base.cls.bases:
            if isinstance(parent, ClassVal):
                method = find_method(parent, attr)
                if method is not None:
                    return BoundFunc(method, base.inst)
        if base.inst.library is not None:
            return Bound(base.inst, attr)
        return self.unknown(f"super:{id(base.inst)}:{attr}", f"super().{attr}")

    def library_of(self, cls: ClassVal) -> str | None:
        """The library server class a class of the program derives from, if any."""
        for base in mro(cls):
            if isinstance(base, Qual) and base.name in SERVER_CLASSES:
                return base.name
        return None

    def library_attribute(self, library: str, name: str) -> Value | None:
        """An attribute of a library class: as the program set it, or as the library has it."""
        for cls in chain_of(library):
            if (cls, name) in self.library_attrs:
                return self.library_attrs[(cls, name)]
            model = SERVER_CLASSES.get(cls)
            own = model.own(name) if model is not None else None
            if own is not None:
                return own
        return None

    def program_attribute(self, inst: Instance, name: str) -> Value | None:
        """What the program set on the instance or on its class."""
        if name in inst.attrs:
            return inst.attrs[name]
        return class_attribute(inst.cls, name) if inst.cls is not None else None

    def instance_attribute(self, inst: Instance, name: str) -> Value | None:
        found = self.program_attribute(inst, name)
        if found is None and inst.library is not None:
            return self.library_attribute(inst.library, name)
        return found

    # -- calls --------------------------------------------------------------------------------

    def eval_call(self, node: ast.Call, scope: Scope) -> Value:
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
        scope: Scope | None = None,
    ) -> Value:
        match func:
            case Func():
                return self.inline(func, args, kwargs, node)
            case BoundFunc():
                return self.inline(func.func, [func.self_value, *args], kwargs, node)
            case ClassVal():
                return self.instantiate(func, args, kwargs, node)
            case Qual():
                return self.call_library(func.name, Arguments(args, kwargs, node), scope)
            case Bound(receiver=Sock() as sock):
                return self.socket_method(sock, func.name, Arguments(args, kwargs, node))
            case Bound(receiver=Instance() as inst):
                return self.server_method(inst, func.name, Arguments(args, kwargs, node))
            case Unknown():
                receiver_key, _, method = func.key.rpartition(".")
                if method in SOCKET_METHODS and receiver_key in self.unknowns:
                    stand_in = self.stand_in(self.unknowns[receiver_key], node)
                    return self.socket_method(stand_in, method, Arguments(args, kwargs, node))
        self.run_callbacks(args, kwargs, node)
        return self.unknown_result(node)

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
                self.inline(value, self.placeholder_args(value, with_self=False), {}, node)

    def inline(
        self, func: Func, args: list[Value], kwargs: dict[str, Value], node: ast.AST
    ) -> Value:
        self.called.add(id(func.node))
        if len(self.stack) >= MAX_DEPTH or any(f.node is func.node for f in self.stack):
            return self.unknown(f"recursive:{id(func.node)}", func.name)
        scope = Scope(func.name, func.scope, func.scope.module)
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
        self, func: Func, args: list[Value], kwargs: dict[str, Value], scope: Scope
    ) -> None:
        spec = func.node.args
        positional = _params(func.node)
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
            first = args[0] if args else None
            if isinstance(first, Instance):
                scope.vars["__class_cell__"] = SuperVal(first, func.owner)

    def instantiate(
        self, cls: ClassVal, args: list[Value], kwargs: dict[str, Value], node: ast.AST
    ) -> Value:
        inst = Instance(cls, self.library_of(cls), {})
        self.instances[id(cls)] = inst
        init = find_method(cls, "__init__")
        if init is not None:
            self.inline(init, [inst, *args], kwargs, node)
        elif inst.library is not None:
            self.construct_server(inst, Arguments(args, kwargs, node))
        return inst

    # -- the library, as `library_models` describes it ----------------------------------------

    def call_library(self, name: str, call: Arguments, scope: Scope | None) -> Value:
        args, kwargs, node = call
        if name in SOCKET_CONSTRUCTORS:
            udp = number_of(SOCKET_TYPE.get(args, kwargs, Const(1))) == _SOCK_DGRAM
            return self.new_sock("socket", node, kind="udp" if udp else "tcp")
        model = server_function(name)
        if model is not None:
            return self.library_server(model, call)
        if name == "socket.create_connection":
            sock = self.new_sock("client", node)
            self.record("connect", sock, node)
            return sock
        if name in SERVER_CLASSES:
            inst = Instance(None, name, {})
            self.construct_server(inst, call)
            return inst
        if name in LOOP_GETTERS:
            return Qual("asyncio.loop")
        owner, _, method = name.rpartition(".")
        if owner in SERVER_CLASSES and args and isinstance(args[0], Instance):
            # socketserver.TCPServer.server_bind(self), .__init__(self, ...), ...
            return self.server_method(args[0], method, call._replace(args=args[1:]))
        if owner in SOCKET_CLASSES and args and isinstance(args[0], Sock):
            return self.socket_method(args[0], method, call._replace(args=args[1:]))
        if name == "struct.pack":
            return _struct_pack(args)
        builtin = name.removeprefix("_socket.").removeprefix("builtins.")
        converted = _converted(builtin, args)
        if converted is not None:
            return converted
        if builtin == "super" and scope is not None:
            cell = self.lookup("__class_cell__", scope)
            if isinstance(cell, SuperVal):
                return cell
        if builtin in ("exec", "eval") and args:
            text = args[0].value if isinstance(args[0], Const) else None
            if isinstance(text, str) and MENTION.search(text):
                line, col = getattr(node, "lineno", 0), getattr(node, "col_offset", 0)
                self.trace.exec_strings.append(ExecString(line, col, builtin))
        self.run_callbacks(args, kwargs, node)
        return self.unknown_result(node)

    def record_reuse(
        self, sock: Sock, node: ast.AST, value: Value, via: Via, where: str = ""
    ) -> None:
        option = (Const(SOL_SOCKET), Const(SO_REUSEADDR), value)
        self.record("setsockopt", sock, node, args=option, via=via, where=where)

    def library_server(self, model: ServerFunction, call: Arguments) -> Value:
        """`socket.create_server`, `asyncio.start_server`, `loop.create_server`: the socket it
        makes gets its options, is bound and listens, in that order."""
        args, kwargs, node = call
        callback = model.callback.of(args, kwargs) if model.callback else None
        given = model.own_socket.of(args, kwargs) if model.own_socket else None
        if isinstance(given, Sock):
            # asyncio uses the learner's own socket as it is: options are theirs to set.
            sock = given
        else:
            sock = self.new_sock(model.origin, node, label=model.label)
            self.library_reuse(model, sock, call)
            port = None
            if model.address is not None:
                port = port_of(model.address.get(args, kwargs, Const(None)))
            elif model.port is not None:
                port = number_of(model.port.get(args, kwargs, Const(None)))
            self.record("bind", sock, node, via=model.via, port=port)
        self.record("listen", sock, node, via=model.via)
        if model.serves:
            self.record("accept", sock, node, via=model.via)
        if callback is not None:
            self.run_callbacks([callback], {}, node)
        if model.returns_socket:
            return sock
        return self.unknown(f"asyncio-server:{getattr(node, 'lineno', 0)}", "server")

    def library_reuse(self, model: ServerFunction, sock: Sock, call: Arguments) -> None:
        """SO_REUSEADDR (and SO_REUSEPORT) as the call asks, or as the library's default."""
        args, kwargs, node = call
        reuse = model.reuse_address.of(args, kwargs) if model.reuse_address else None
        explicit = reuse is not None and not (isinstance(reuse, Const) and reuse.value is None)
        if reuse is None or not explicit:
            reuse, where = Const(int(model.reuse_address_on_linux)), model.default_where
        else:
            where = model.given_where
        if truth_of(reuse) is False:
            sock.library_off = True
        else:
            self.record_reuse(sock, node, reuse, via=model.via, where=where)
        reuse_port = model.reuse_port.of(args, kwargs) if model.reuse_port else None
        if reuse_port is not None and truth_of(reuse_port):
            option = (Const(SOL_SOCKET), Const(SO_REUSEPORT), Const(1))
            self.record("setsockopt", sock, node, args=option, via=model.via)

    def construct_server(self, inst: Instance, call: Arguments) -> None:
        args, kwargs, node = call
        library = inst.library or DEFAULT_SERVER_CLASS
        model = SERVER_CLASSES.get(library)
        kind: SockKind = model.kind if model is not None else "tcp"
        inst.sock = self.new_sock("socketserver", node, kind=kind, library=library)
        inst.attrs.setdefault("server_address", SERVER_ADDRESS.get(args, kwargs, Const(None)))
        handler = REQUEST_HANDLER.of(args, kwargs)
        if truth_of(BIND_AND_ACTIVATE.get(args, kwargs, Const(True))) is not False:
            self.call(self.get_attribute(inst, "server_bind", node), [], {}, node)
            self.call(self.get_attribute(inst, "server_activate", node), [], {}, node)
        if isinstance(handler, ClassVal):
            handle = find_method(handler, "handle")
            if handle is not None and id(handle.node) not in self.called:
                self.call_uncalled_reachable(handle)

    def server_method(self, inst: Instance, method: str, call: Arguments) -> Value:
        node = call.node
        if method == "__init__":
            self.construct_server(inst, call)
            return Const(None)
        sock = inst.sock
        if sock is None:
            inst.sock = sock = self.new_sock("socketserver", node, library=inst.library)
        if method == "server_bind":
            self.server_bind(inst, sock, node)
        elif method == "server_activate":
            if sock.kind == "tcp":
                self.record("listen", sock, node, via="socketserver")
        elif method in SERVING_METHODS:
            if sock.kind == "tcp":
                self.record("accept", sock, node, via="socketserver")
        else:
            return self.unknown_result(node)
        return Const(None)

    def server_bind(self, inst: Instance, sock: Sock, node: ast.AST) -> None:
        reuse = self.instance_attribute(inst, REUSE_ADDRESS_ATTRIBUTE) or Const(False)
        if truth_of(reuse) is False:
            sock.library_off = True
        else:
            where = _library_where(inst.library or DEFAULT_SERVER_CLASS, inst)
            self.record_reuse(sock, node, reuse, via="socketserver", where=where)
        reuse_port = self.instance_attribute(inst, REUSE_PORT_ATTRIBUTE)
        if reuse_port is not None and truth_of(reuse_port):
            option = (Const(SOL_SOCKET), Const(SO_REUSEPORT), reuse_port)
            self.record("setsockopt", sock, node, args=option, via="socketserver")
        address = self.instance_attribute(inst, "server_address") or Const(None)
        self.record("bind", sock, node, via="socketserver", port=port_of(address))

    def socket_method(self, sock: Sock, method: str, call: Arguments) -> Value:
        args, kwargs, node = call
        if method == "setsockopt":
            call_args = tuple(node.args) if isinstance(node, ast.Call) else ()
            self.record("setsockopt", sock, node, args=tuple(args[:3]), arg_nodes=call_args[:3])
        elif method == "bind":
            address = args[0] if args else kwargs.get("address", Const(None))
            self.record("bind", sock, node, port=port_of(address))
        elif method == "listen":
            self.record("listen", sock, node)
        elif method == "accept":
            self.record("accept", sock, node)
            conn = self.new_sock("accepted", node, accepted_from=sock)
            line, col = getattr(node, "lineno", 0), getattr(node, "col_offset", 0)
            return Tup((conn, self.unknown(f"peer:{line}:{col}", "address")))
        elif method in ("connect", "connect_ex"):
            self.record("connect", sock, node)
        elif method in ("__enter__", "dup"):
            return sock
        else:
            return self.unknown_result(node)
        return Const(None)


# Each handler takes the node class it is registered for; a mapping cannot say that per entry,
# hence `Any` for the node.
_Statement = Callable[[Interpreter, Any, Scope], None]
_Expression = Callable[[Interpreter, Any, Scope], Value]
_STATEMENTS: dict[type[ast.AST], _Statement] = {
    ast.Expr: Interpreter.exec_expr,
    ast.Assign: Interpreter.exec_assign,
    ast.AnnAssign: Interpreter.exec_ann_assign,
    ast.AugAssign: Interpreter.exec_aug_assign,
    ast.Import: Interpreter.exec_import,
    ast.ImportFrom: Interpreter.exec_import_from,
    ast.FunctionDef: Interpreter.exec_function_def,
    ast.AsyncFunctionDef: Interpreter.exec_function_def,
    ast.ClassDef: Interpreter.exec_class_def,
    ast.Return: Interpreter.exec_return,
    ast.If: Interpreter.exec_if,
    ast.While: Interpreter.exec_while,
    ast.For: Interpreter.exec_for,
    ast.AsyncFor: Interpreter.exec_for,
    ast.With: Interpreter.exec_with,
    ast.AsyncWith: Interpreter.exec_with,
    ast.Try: Interpreter.exec_try,
    ast.TryStar: Interpreter.exec_try,
    ast.Match: Interpreter.exec_match,
    ast.Global: Interpreter.exec_global,
    ast.Nonlocal: Interpreter.exec_global,
}
_EXPRESSIONS: dict[type[ast.AST], _Expression] = {
    ast.Constant: Interpreter.eval_constant,
    ast.Name: Interpreter.eval_name,
    ast.Attribute: Interpreter.eval_attribute,
    ast.Call: Interpreter.eval_call,
    ast.Await: Interpreter.eval_await,
    ast.Tuple: Interpreter.eval_sequence,
    ast.List: Interpreter.eval_sequence,
    ast.UnaryOp: Interpreter.eval_unary,
    ast.BinOp: Interpreter.eval_binary,
    ast.Compare: Interpreter.eval_compare,
    ast.BoolOp: Interpreter.eval_boolop,
    ast.IfExp: Interpreter.eval_if_exp,
    ast.NamedExpr: Interpreter.eval_named,
    ast.Subscript: Interpreter.eval_subscript,
    ast.Lambda: Interpreter.eval_lambda,
    ast.JoinedStr: Interpreter.eval_f_string,
}
# Only small, cheap integer arithmetic: `2 ** 10 ** 10` must not hang the analysis.
_OPERATIONS: dict[type[ast.operator], Callable[[int, int], int | None]] = {
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
_SOCK_DGRAM = SOCKET_CONSTANTS["SOCK_DGRAM"]


def _library_where(library: str, inst: Instance) -> str:
    """Where a library server's SO_REUSEADDR setting comes from, for the finding."""
    if REUSE_ADDRESS_ATTRIBUTE in inst.attrs:
        return " (you set it on the server object before server_bind())"
    if inst.cls is not None:
        sets_it = any(
            isinstance(cls, ClassVal) and REUSE_ADDRESS_ATTRIBUTE in cls.attrs
            for cls in mro(inst.cls)
        )
        return " (your class sets allow_reuse_address)" if sets_it else ""
    if reuses_by_default(library):
        return f" ({library.rpartition('.')[2]} sets it for you)"
    return ""


def _converted(builtin: str, args: list[Value]) -> Value | None:
    """`int(x)` or `bool(x)` of a value the analysis knows."""
    if builtin not in ("int", "bool") or len(args) != 1:
        return None
    if builtin == "bool":
        truth = truth_of(args[0])
        return None if truth is None else Const(truth)
    number = number_of(args[0])
    return None if number is None else Const(int(number))


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
