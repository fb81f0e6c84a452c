"""What the standard library does with SO_REUSEADDR when it makes a server socket itself.

One model per library entry point, as data: which name, what it does to the option on Linux
(where the behaviour proof runs) unless told otherwise, and which argument or class attribute
tells it. The interpreter reads these tables; it holds no library knowledge of its own beyond
the order in which a library binds, listens and accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sockdojo.challenges.reuse_address.trace import Via
from sockdojo.challenges.reuse_address.values import Const, SockKind, SockOrigin, Value

REUSE_ADDRESS_ATTRIBUTE = "allow_reuse_address"
REUSE_PORT_ATTRIBUTE = "allow_reuse_port"


@dataclass(frozen=True)
class Param:
    """Where a call takes an argument: by position (if it can) or by one of its keywords."""

    keywords: tuple[str, ...]
    position: int | None = None

    def of(self, args: list[Value], kwargs: Mapping[str, Value]) -> Value | None:
        if self.position is not None and len(args) > self.position:
            return args[self.position]
        for keyword in self.keywords:
            if keyword in kwargs:
                return kwargs[keyword]
        return None

    def get(self, args: list[Value], kwargs: Mapping[str, Value], default: Value) -> Value:
        found = self.of(args, kwargs)
        return default if found is None else found


@dataclass(frozen=True)
class ServerFunction:
    """A call that makes a socket, sets its options, binds and listens, all by itself."""

    names: frozenset[str]
    via: Via
    origin: SockOrigin
    reuse_address_on_linux: bool  # what it does to SO_REUSEADDR when the call does not say
    default_where: str  # how the finding says where that default comes from
    reuse_address: Param | None = None  # the argument that overrides the default
    given_where: str = ""  # how the finding says the program chose it
    reuse_port: Param | None = None  # the argument that turns SO_REUSEPORT on
    address: Param | None = None  # a (host, port) address
    port: Param | None = None  # the port alone
    own_socket: Param | None = None  # a socket of the program's, used as it is
    callback: Param | None = None  # what runs for each connection
    serves: bool = False  # it accepts connections itself
    label: str | None = None  # what to call its socket in a finding
    returns_socket: bool = False  # returns the socket (else a server object, not followed)
    method: str | None = None  # also matches this method on any asyncio object

    def matches(self, name: str) -> bool:
        if name in self.names:
            return True
        return self.method is not None and (
            name.startswith("asyncio.") and name.endswith(f".{self.method}")
        )


CREATE_SERVER = ServerFunction(
    names=frozenset({"socket.create_server"}),
    via="create_server",
    origin="create_server",
    # On every POSIX platform but Cygwin; never on Windows. Its reuse_port= is not modelled.
    reuse_address_on_linux=True,
    default_where="",
    address=Param(("address",), 0),
    returns_socket=True,
)
ASYNCIO_SERVER = ServerFunction(
    names=frozenset(
        {"asyncio.start_server", "asyncio.loop.create_server", "asyncio.streams.start_server"}
    ),
    via="asyncio",
    origin="asyncio",
    # reuse_address=None means True on Unix, and is not supported on Windows.
    reuse_address_on_linux=True,
    default_where=" (its default on Unix)",
    reuse_address=Param(("reuse_address",)),
    given_where=" (you pass reuse_address=True)",
    reuse_port=Param(("reuse_port",)),
    port=Param(("port",), 2),
    own_socket=Param(("sock",)),
    callback=Param(("client_connected_cb", "protocol_factory"), 0),
    serves=True,
    label="the asyncio server's socket",
    method="create_server",
)
SERVER_FUNCTIONS = (CREATE_SERVER, ASYNCIO_SERVER)


def server_function(name: str) -> ServerFunction | None:
    return next((model for model in SERVER_FUNCTIONS if model.matches(name)), None)


@dataclass(frozen=True)
class ServerClass:
    """A socketserver-style class: binds in its constructor, SO_REUSEADDR per class attribute."""

    name: str
    bases: tuple[str, ...] = ()  # the library classes it inherits from, nearest first
    kind: SockKind = "tcp"
    # The class attributes it defines itself (allow_reuse_address, allow_reuse_port): the
    # defaults its subclasses inherit unless the program sets them.
    attributes: Mapping[str, bool] = field(default_factory=dict)

    @property
    def chain(self) -> tuple[str, ...]:
        """Where its attributes come from, itself first."""
        return (self.name, *self.bases)

    def own(self, attribute: str) -> Const | None:
        """The attribute as this class itself defines it (not through its bases)."""
        return Const(self.attributes[attribute]) if attribute in self.attributes else None


_TCP = "socketserver.TCPServer"
_UDP = "socketserver.UDPServer"
_HTTP = "http.server.HTTPServer"
SERVER_CLASSES: Mapping[str, ServerClass] = {
    model.name: model
    for model in (
        ServerClass(_TCP, attributes={REUSE_ADDRESS_ATTRIBUTE: False, REUSE_PORT_ATTRIBUTE: False}),
        ServerClass("socketserver.ThreadingTCPServer", (_TCP,)),
        ServerClass("socketserver.ForkingTCPServer", (_TCP,)),
        ServerClass(_UDP, (_TCP,), kind="udp"),
        ServerClass("socketserver.ThreadingUDPServer", (_UDP, _TCP), kind="udp"),
        ServerClass(_HTTP, (_TCP,), attributes={REUSE_ADDRESS_ATTRIBUTE: True}),
        ServerClass("http.server.ThreadingHTTPServer", (_HTTP, _TCP)),
        ServerClass(
            "xmlrpc.server.SimpleXMLRPCServer", (_TCP,), attributes={REUSE_ADDRESS_ATTRIBUTE: True}
        ),
    )
}
DEFAULT_SERVER_CLASS = _TCP  # what a server of unknown class is taken for

# The constructor's parameters, and the methods after which the server accepts connections.
SERVER_ADDRESS = Param(("server_address",), 0)
REQUEST_HANDLER = Param(("RequestHandlerClass",), 1)
BIND_AND_ACTIVATE = Param(("bind_and_activate",), 2)
SERVING_METHODS = frozenset({"serve_forever", "handle_request", "get_request"})


def chain_of(library: str) -> tuple[str, ...]:
    model = SERVER_CLASSES.get(library)
    return model.chain if model is not None else (library,)


def reuses_by_default(library: str) -> bool:
    """Whether the class turns SO_REUSEADDR on with no help (HTTPServer does, TCPServer not)."""
    for name in chain_of(library):
        model = SERVER_CLASSES.get(name)
        own = model.own(REUSE_ADDRESS_ATTRIBUTE) if model is not None else None
        if own is not None:
            return own.value is True
    return False


# The socket module: what makes a socket, which of its methods make events.
SOCKET_CONSTRUCTORS = frozenset({"socket.socket", "socket.SocketType", "_socket.socket"})
SOCKET_CLASSES = frozenset({"socket.socket", "socket.SocketType"})
SOCKET_TYPE = Param(("type",), 1)
SOCKET_METHODS = frozenset({"setsockopt", "bind", "listen", "accept", "connect", "connect_ex"})
LOOP_GETTERS = frozenset(
    {"asyncio.get_event_loop", "asyncio.get_running_loop", "asyncio.new_event_loop"}
)

# What `from socketserver import *` and `from asyncio import *` bring that the models know of.
STAR_IMPORTED = frozenset(
    {
        *(name for name in SERVER_CLASSES if name.startswith("socketserver.")),
        "asyncio.start_server",
        "asyncio.run",
        *LOOP_GETTERS,
    }
)
