"""The one accept loop behind every server sockdojo runs.

It owns everything a challenge protocol must not care about: SO_REUSEADDR, many clients at
once, bounded reads (bytes and time), a hard lifetime per connection, graceful closing so the
last bytes we send are not destroyed by a reset, and stopping cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import resource
import socket
from collections.abc import Callable
from dataclasses import dataclass

from sockdojo.errors import SockdojoError
from sockdojo.net import kernel_view
from sockdojo.net.protocol import Action, FlagSource, Note, Send, SendFlag, ServerProtocol

READ_CHUNK = 4096
MAX_CONNECTION_SECONDS = 120.0
DRAIN_SECONDS = 1.0
DRAIN_BYTES = 256 * 1024
# A client still open after the drain with the flag unread is busy elsewhere for a moment (a
# loaded machine, a print or a sleep before its recv()): this long more, watched in the kernel,
# before we say it did not read the flag. A look costs about 0.5 ms of the event loop, so the
# looks come KERNEL_POLL apart at first, then twice as far apart each time, up to KERNEL_POLL_MAX
# (about 15 looks in all, not 200 per lingering client).
FLAG_READ_SECONDS = 10.0
KERNEL_POLL = 0.05
KERNEL_POLL_MAX = 1.0
SEND_SECONDS = 5.0
MAX_CONNECTIONS = 4096
# Bursts of hundreds of clients must not overflow the accept queue (the kernel caps it at
# net.core.somaxconn).
BACKLOG = 4096


@dataclass
class _Conversation:
    """One connection being served, as the loop needs to know it to make room."""

    peer: Peer
    task: asyncio.Task[None]
    last_heard: float  # loop time of the last bytes (or of the connection, before any)
    silent: bool = True  # nothing received yet


@dataclass(frozen=True)
class Peer:
    number: int
    host: str
    port: int

    def __str__(self) -> str:
        return f"#{self.number} {self.host}:{self.port}"


ProtocolFactory = Callable[[Peer], ServerProtocol]
NoteSink = Callable[[Peer, str], None]


def raise_open_file_limit() -> None:
    """Hundreds of simultaneous clients need more descriptors than the usual soft limit of 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def listening_socket(host: str, port: int, backlog: int = BACKLOG) -> socket.socket:
    """Bind and listen with SO_REUSEADDR, so a learner can bind the port right after we exit."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class AcceptLoop:
    def __init__(
        self,
        sock: socket.socket,
        protocol_factory: ProtocolFactory,
        on_note: NoteSink,
        *,
        flag: FlagSource,
        stop_after_flag: bool = False,
        max_connection_seconds: float = MAX_CONNECTION_SECONDS,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self._sock = sock
        self._factory = protocol_factory
        self._on_note = on_note
        self._flag_source = flag
        self._flag: bytes | None = None  # minted once, when a client first earns it
        self._minting = asyncio.Lock()
        # Why the flag could not be had (a class server that does not answer): the loop stops.
        self.flag_error: SockdojoError | None = None
        self._stop_after_flag = stop_after_flag
        self._max_seconds = max_connection_seconds
        self._numbers = itertools.count(1)
        self._max_connections = max_connections
        self._slots = asyncio.Semaphore(max_connections)
        # Served connections by number. When every slot is taken, the longest-silent one makes
        # room for the newcomer: a flood of idle connections must not keep a real client waiting.
        self._serving: dict[int, _Conversation] = {}
        self._waiting = 0
        self.evicted = 0
        self.stopped = asyncio.Event()
        # A flag counts as delivered once the client has taken it: it closed cleanly after
        # reading, or the kernel shows nothing left unread. Sent but left unread (a reset, or
        # a client that only read the banner) is counted apart, so the console says so.
        self.flags_delivered = 0
        self.flags_unread = 0
        self.connections = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def serve(self) -> None:
        # asyncio calls listen() again, with its own default backlog of 100 unless told.
        server = await asyncio.start_server(self._handle, sock=self._sock, backlog=BACKLOG)
        async with server:
            await self.stopped.wait()
            server.close()
            # Finish every conversation inside the loop, so no transport outlives it.
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def stop(self) -> None:
        self.stopped.set()

    def _make_room(self) -> None:
        """Close the connection that has been silent longest (never one that spoke)."""
        silent = [c for c in self._serving.values() if c.silent and not c.task.done()]
        if not silent:
            return  # everyone is talking: the newcomer waits for a slot
        victim = min(silent, key=lambda c: c.last_heard)
        idle = asyncio.get_running_loop().time() - victim.last_heard
        self._serving.pop(victim.peer.number, None)
        self.evicted += 1
        self._on_note(
            victim.peer,
            f"closed after {idle:.0f} s of silence to make room: {self._max_connections} "
            "connections are open at once",
        )
        victim.task.cancel()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        peername = writer.get_extra_info("peername") or ("?", 0)
        peer = Peer(next(self._numbers), str(peername[0]), int(peername[1]))
        self.connections += 1
        # Connections waiting for a slot count too: each newcomer beyond the cap makes room.
        if len(self._serving) + self._waiting >= self._max_connections:
            self._make_room()
        try:
            self._waiting += 1
            try:
                await self._slots.acquire()
            finally:
                self._waiting -= 1
            try:
                conversation = None
                if task is not None:
                    conversation = _Conversation(peer, task, asyncio.get_running_loop().time())
                    self._serving[peer.number] = conversation
                async with asyncio.timeout(self._max_seconds):
                    await self._converse(peer, reader, writer, conversation)
            finally:
                self._slots.release()
        except TimeoutError:
            self._on_note(peer, f"closed after {self._max_seconds:.0f} s, the longest we allow")
        except asyncio.CancelledError:
            pass  # we are stopping
        except Exception as error:  # one broken connection never stops the loop
            self._on_note(peer, f"connection failed: {type(error).__name__}: {error}")
        finally:
            self._serving.pop(peer.number, None)
            if not writer.is_closing():
                writer.transport.abort()
            if task is not None:
                self._tasks.discard(task)
        if self._stop_after_flag and self.flags_delivered:
            self.stop()

    async def _converse(
        self,
        peer: Peer,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        conversation: _Conversation | None = None,
    ) -> None:
        protocol = self._factory(peer)
        actions = protocol.connection_made()
        flag_sent = False
        while True:
            flag_sent = flag_sent or any(isinstance(a, SendFlag) for a in actions)
            closing = await self._apply(peer, protocol, writer, actions)
            if closing:
                taken = await self._close_gracefully(
                    peer, protocol, reader, writer, flag_sent=flag_sent
                )
                if flag_sent:
                    self._count_flag(peer, taken)
                return
            try:
                # asyncio.timeout, unlike wait_for on 3.11, costs no extra task per read.
                async with asyncio.timeout(protocol.timeout):
                    data = await reader.read(READ_CHUNK)
            except TimeoutError:
                actions = protocol.timer_expired()
                continue
            except ConnectionError as error:
                self._report_lost(peer, protocol, _reason(error))
                if flag_sent:
                    self._count_flag(peer, taken=False)
                return
            if conversation is not None:
                conversation.last_heard = asyncio.get_running_loop().time()
                conversation.silent = conversation.silent and not data
            actions = protocol.data_received(data) if data else protocol.eof_received()

    def _count_flag(self, peer: Peer, taken: bool) -> None:
        if taken:
            self.flags_delivered += 1
        else:
            self.flags_unread += 1
            self._on_note(peer, "the client did not read the flag before it closed")

    async def _apply(
        self,
        peer: Peer,
        protocol: ServerProtocol,
        writer: asyncio.StreamWriter,
        actions: list[Action],
    ) -> bool:
        closing = False
        for action in actions:
            if isinstance(action, Send | SendFlag):
                if writer.is_closing():
                    continue
                data = action.data if isinstance(action, Send) else await self._the_flag(peer)
                if data is None:
                    return True  # no flag to be had: this connection ends, and so do we
                if writer.is_closing():  # the client went while the flag was being minted
                    self._report_lost(peer, protocol, "reset")
                    return True
                writer.write(data)
                try:
                    async with asyncio.timeout(SEND_SECONDS):
                        await writer.drain()
                except (ConnectionError, TimeoutError) as error:
                    self._report_lost(peer, protocol, _reason(error))
                    return True
            elif isinstance(action, Note):
                self._on_note(peer, action.text)
            else:
                closing = True
        return closing

    async def _the_flag(self, peer: Peer) -> bytes | None:
        """The flag line, minted on first need and kept (it is the same for every client of
        this run); None, and the loop stopping, when it cannot be had."""
        async with self._minting:
            if self._flag is None and self.flag_error is None:
                loop = asyncio.get_running_loop()
                try:
                    # Off the event loop: in class mode this is a request to the class server.
                    self._flag = await loop.run_in_executor(None, self._flag_source)
                except SockdojoError as error:
                    self.flag_error = error
                    self._on_note(peer, "your client earned its flag, but it could not be had")
                    self.stop()
        return self._flag

    def _report_lost(self, peer: Peer, protocol: ServerProtocol, reason: str) -> None:
        for action in protocol.connection_lost(reason):
            if isinstance(action, Note):
                self._on_note(peer, action.text)

    async def _close_gracefully(
        self,
        peer: Peer,
        protocol: ServerProtocol,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        flag_sent: bool = False,
    ) -> bool:
        """Close without destroying what we sent; whether the client took all of it."""
        # Closing a socket with unread input makes the kernel send a reset, which can destroy the
        # flag we just sent before the learner reads it. So: send our FIN, read and discard what
        # is still coming (bounded), and only then close.
        if writer.is_closing():
            return False
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()
        try:
            taken = await _drain(reader, writer, FLAG_READ_SECONDS if flag_sent else 0.0)
        except ConnectionError as error:
            self._report_lost(peer, protocol, _reason(error))
            taken = False
        if taken is None:
            # A client that closed its socket (rather than only its sending side) answers our
            # last bytes with a reset. Its FIN reached us first, so reading saw a clean end of
            # stream; the reset is only recorded as the socket's pending error.
            taken = True
            if _reset_pending(writer):
                self._report_lost(peer, protocol, "reset")
                taken = False
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(DRAIN_SECONDS):
                await writer.wait_closed()
        return taken


async def _drain(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, unread_wait: float
) -> bool | None:
    """Read and discard what the client still sends, for DRAIN_SECONDS (and DRAIN_BYTES).

    None: its stream ended (or the cap was reached) first. Otherwise it is still open, and the
    kernel tells whether it has read everything we sent (True where there is no kernel view).
    A client that has not read yet is watched for `unread_wait` seconds more, less and less
    often (KERNEL_POLL to KERNEL_POLL_MAX): one busy for a moment before its recv() has not
    closed without reading.
    """
    loop = asyncio.get_running_loop()
    drained_by = loop.time() + DRAIN_SECONDS
    watched_by = drained_by + unread_wait
    discarded = 0
    poll = KERNEL_POLL
    # Bounded in count as well as in time: every pass reads a byte or waits.
    for _ in range(DRAIN_BYTES + int(unread_wait / KERNEL_POLL) + 100):
        if discarded >= DRAIN_BYTES:
            return None
        now = loop.time()
        if now >= drained_by:
            read = _client_read_everything(writer)
            if read is not False or now >= watched_by:
                return read is not False
            wait = min(poll, watched_by - now)
            poll = min(poll * 2, KERNEL_POLL_MAX)
        else:
            wait = drained_by - now
        try:
            async with asyncio.timeout(wait):
                chunk = await reader.read(READ_CHUNK)
        except TimeoutError:
            continue
        if not chunk:
            return None
        discarded += len(chunk)
    return _client_read_everything(writer) is not False


def _client_read_everything(writer: asyncio.StreamWriter) -> bool | None:
    """Whether the client's socket holds nothing unread (Linux kernel view; None: unknown)."""
    sock = writer.get_extra_info("socket")
    if sock is None:
        return None
    client = kernel_view.peer_of_socket(sock)
    if client is None:
        return None
    # Our FIN counts as one byte in its queue until it reads the end of the stream.
    return client.receive_queue <= 1


def _reset_pending(writer: asyncio.StreamWriter) -> bool:
    sock = writer.get_extra_info("socket")
    return sock is not None and kernel_view.reset_pending(sock)


def _reason(error: BaseException) -> str:
    if isinstance(error, ConnectionResetError):
        return "reset"
    if isinstance(error, BrokenPipeError):
        return "broken pipe"
    if isinstance(error, TimeoutError):
        return "send timed out"
    return type(error).__name__
