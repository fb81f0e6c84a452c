"""Mistakes the network challenges (client, server, server-loop, eight-ball) can diagnose.

Fields the templates use: {where} is the address the challenge uses ("127.0.0.1:1337"),
{host} and {port} its parts, {connection} "Our connection" or "Connection 2", {number} a
connection's number, {previous} the one before it, {total} how many we make.
"""

from __future__ import annotations

from collections.abc import Mapping

from sockdojo.mistakes.entry import Entry

SERVERS = ("server", "server-loop")
OURS = ("client", "eight-ball")
BIND_LISTEN_ACCEPT = "socket() -> bind(('127.0.0.1', 1337)) -> listen() -> accept()"

NETWORK: Mapping[str, Entry] = {
    # --- we could not connect ------------------------------------------------------------
    "nothing-listening": Entry(
        SERVERS,
        "Nothing is listening on {where}: our connection was refused.",
        "The challenge connects to your server, so your server must already be running and "
        f"have done {BIND_LISTEN_ACCEPT}. If it was running, it has ended: a server that dies "
        "at accept() with `OSError: [Errno 22] Invalid argument` never called listen().",
        "Start your server first, in another terminal, and leave it running; look there for "
        "an error if it stopped. Then run this again.",
    ),
    "not-listening": Entry(
        SERVERS,
        "{connection} to {where} was refused, but a socket is bound to that address: your "
        "server called bind() and never listen().",
        "bind() only reserves the address; the kernel refuses connections until listen() "
        "turns the socket into a listening one.",
        "Call sock.listen() right after sock.bind(('{host}', {port})), then accept().",
    ),
    "listening-elsewhere": Entry(
        SERVERS,
        "{connection} to {where} was refused, but a server is listening on {addresses}.",
        "A server only receives connections for the address it bound.",
        "Bind to ('{host}', {port}) exactly: sock = socket.socket(socket.AF_INET, "
        "socket.SOCK_STREAM); sock.bind(('{host}', {port})).",
    ),
    "listening-ipv6-only": Entry(
        SERVERS,
        "{connection} to {where} was refused, but a server is listening on {addresses}.",
        "Your server is listening on an IPv6 address only (for example bind(('::1', ...)) or "
        "'localhost' resolving to ::1), and IPv4 connections to {host} cannot reach it.",
        "Bind to ('{host}', {port}) with an AF_INET socket: sock = socket.socket("
        "socket.AF_INET, socket.SOCK_STREAM); sock.bind(('{host}', {port})).",
    ),
    "listening-other-port": Entry(
        SERVERS,
        "{connection} to {where} was refused, but a program of yours is listening on "
        "{addresses}: another port.",
        "The port is part of the address: a server on port {other_port} never sees "
        "connections to port {port}.",
        "Bind to ('{host}', {port}) (the port the challenge connects to), or run the "
        "challenge with --port {other_port} while you experiment.",
    ),
    "udp-server": Entry(
        SERVERS,
        "{connection} to {where} was refused: your server has a UDP socket on that port, not "
        "a TCP listener.",
        "socket.SOCK_DGRAM makes a UDP socket, which has no connections to accept; the "
        "challenge speaks TCP.",
        "Create the server's socket with socket.socket(socket.AF_INET, socket.SOCK_STREAM), "
        "then bind(), listen() and accept().",
    ),
    "accept-queue-full": Entry(
        SERVERS,
        "{connection} to {where} timed out: your server's queue of waiting connections is full.",
        "The server listens but never calls accept(), so connections pile up until the "
        "kernel drops new ones.",
        "Call accept() (in a loop) after listen().",
    ),
    "connect-timeout": Entry(
        SERVERS,
        "{connection} to {where} timed out after {seconds:.1f} s.",
        "Something on the path dropped our connection attempt.",
        "Check that your server binds {where} and calls listen() and accept().",
    ),
    "connect-error": Entry(
        SERVERS,
        "{connection} to {where} failed: {detail}.",
        "The address could not be reached from this machine.",
        "Bind your server to {where} (the address the challenge connects to).",
    ),
    "own-server-running": Entry(
        SERVERS,
        "The program answering on {where} is sockdojo's own challenge server ({which}), not "
        "yours. We did not send it your flag.",
        "Only one program can listen on a port at a time.",
        "Stop that process (Ctrl-C in its terminal), start your server, and run this again.",
    ),
    # --- connected, but the server did not take the message ----------------------------
    "closed-before-reading": Entry(
        SERVERS,
        "Your server closed the connection before reading the whole {what} (the kernel "
        "answered with a reset).",
        "Closing a connection with unread bytes throws them away; a server that accepts and "
        "closes at once, or reads only a few bytes, loses the {what}.",
        "After accept(), call recv() on the connection it returns until recv() gives b'' (or "
        "once, with a size of at least 1024), print what you got, then close the connection. "
        "If your server printed `[Errno 107] Transport endpoint is not connected`, it called "
        "recv() on the listening socket instead.",
    ),
    "listener-closed-before-accept": Entry(
        ("server",),
        "Your server's listening socket closed while our connection was still waiting to be "
        "accepted (as far as we last saw): your program most likely ended before it took it.",
        "It most likely crashed before or inside accept(). A common cause is calling recv() "
        "on the listening socket instead of on the connection accept() returns (`OSError: "
        "[Errno 107] Transport endpoint is not connected`). If it did accept our connection "
        "at that very moment, it then closed it before reading all we sent.",
        "Look at your server's terminal for the error; read with conn.recv(1024), where "
        "conn, addr = sock.accept(), and read until you have the whole line.",
    ),
    "never-accepted": Entry(
        SERVERS,
        "Our connection was queued by your listening socket but never accepted.",
        "listen() lets the kernel queue connections; your program must still call accept() "
        "to take one.",
        "Call conn, addr = sock.accept() after listen(), then conn.recv(1024).",
    ),
    "never-read": Entry(
        SERVERS,
        "Your server accepted the connection but never read the {sent} bytes we sent.",
        "Accepting gives you a connection socket; the data waits there until you recv().",
        "Call data = conn.recv(1024) on the socket accept() returned, and print(data).",
    ),
    "partly-read": Entry(
        SERVERS,
        "Your server read {read} of the {sent} bytes we sent and left the rest.",
        "recv(n) returns at most n bytes: a small n cuts the {what} short.",
        "Use a bigger size (recv(1024)) or call recv() until it returns b''.",
    ),
    # --- server-loop: the server did not keep serving -----------------------------------
    "stopped-after-first": Entry(
        ("server-loop",),
        "Connection {number} {how}: nothing is listening on {where} any more. Your server "
        "stopped (it crashed or exited) after connection {previous}.",
        "Either it has no loop, so it accepts one connection and its program ends (and so does "
        "a loop that closes the listening socket or calls bind() again inside it), or something "
        "in the loop crashed it: then its terminal shows the error.",
        "Look at your server's terminal first and fix any error it shows. Then create, bind "
        "and listen once, before the loop, and put accept(), recv() and the connection's "
        "close() inside a `while True:` loop. Close the connection, never the listening socket.",
    ),
    "stopped-while-serving": Entry(
        ("server-loop",),
        "Your server served {served}, then stopped (it crashed or exited) {when}.",
        "Your loop does run, but something in it ends the program: an exception while "
        "handling a connection, a `break`, or closing the listening socket.",
        "Look at your server's terminal for the error it printed, fix it, and keep the loop "
        "going: close only the connection, never the listening socket.",
    ),
    "stuck-on-previous": Entry(
        ("server-loop",),
        "Connection {number} was queued but never accepted: your server is still busy with "
        "connection {previous}.",
        "A loop that keeps calling recv() after it returned b'' never gets back to accept().",
        "Leave the reading loop when recv() returns b'' (the client is done), close that "
        "connection, and go back to accept().",
    ),
    "restarted-listener": Entry(
        ("server-loop",),
        "Connection {number} was served by a new listening socket, not by the one that "
        "served connection 1: your server is not one program that keeps running. We did not "
        "send it the flag.",
        "Either socket() and bind() are inside the loop, or a shell loop restarts a one-shot "
        "server (like `while true; do nc -l ...; done`). Neither is one server that keeps "
        "accepting.",
        "Create, bind and listen once, before the loop; then call accept() in a `while "
        "True:` loop, in one program that keeps running.",
    ),
    # --- our own servers could not start -----------------------------------------------
    "port-in-use": Entry(
        OURS,
        "{where} is already in use by another program.",
        "Only one program can listen on a port: maybe your own server, or another challenge, "
        "is still running.",
        "Stop it (Ctrl-C in its terminal), then run this again.",
    ),
    "port-forbidden": Entry(
        OURS,
        "Not allowed to listen on {where}.",
        "Ports below 1024 need special privileges.",
        "Use a port of 1024 or above with --port.",
    ),
    "cannot-listen": Entry(
        OURS,
        "Could not listen on {where}: {detail}.",
        "The address may not belong to this machine.",
        "Use the default address, 127.0.0.1.",
    ),
}
