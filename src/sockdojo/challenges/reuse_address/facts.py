"""Facts the reuse-address analysis relies on: Linux socket numbers and names.

The numbers are Linux's, whatever machine runs the analysis: the behaviour proof runs there, and
the challenge is about what the program does on it. What the standard library's servers do
with SO_REUSEADDR is in `library_models`.
"""

from __future__ import annotations

import re
import socket as _socket
from collections.abc import Mapping

# Linux values: the analysis answers for the machine the proof runs on, whatever it runs on.
SOL_SOCKET = 1
SO_REUSEADDR = 2
SO_REUSEPORT = 15
# What macOS and the BSDs use: seen in code copied from their headers or documentation.
BSD_SOL_SOCKET = 0xFFFF
BSD_SO_REUSEADDR = 4
SOCKET_CONSTANTS: Mapping[str, int] = {
    "SOL_SOCKET": 1,
    "SO_DEBUG": 1,
    "SO_REUSEADDR": 2,
    "SO_TYPE": 3,
    "SO_ERROR": 4,
    "SO_DONTROUTE": 5,
    "SO_BROADCAST": 6,
    "SO_SNDBUF": 7,
    "SO_RCVBUF": 8,
    "SO_KEEPALIVE": 9,
    "SO_OOBINLINE": 10,
    "SO_LINGER": 13,
    "SO_REUSEPORT": 15,
    "SO_RCVLOWAT": 18,
    "SO_SNDLOWAT": 19,
    "SO_RCVTIMEO": 20,
    "SO_SNDTIMEO": 21,
    "IPPROTO_IP": 0,
    "SOL_IP": 0,
    "IPPROTO_TCP": 6,
    "SOL_TCP": 6,
    "IPPROTO_UDP": 17,
    "SOL_UDP": 17,
    "IPPROTO_IPV6": 41,
    "TCP_NODELAY": 1,
    "TCP_MAXSEG": 2,
    "TCP_KEEPIDLE": 4,
    "TCP_KEEPINTVL": 5,
    "TCP_KEEPCNT": 6,
    "IP_TOS": 1,
    "IP_TTL": 2,
    "AF_INET": 2,
    "AF_INET6": 10,
    "SOCK_STREAM": 1,
    "SOCK_DGRAM": 2,
    "INADDR_ANY": 0,
}
LEVEL_NAMES: Mapping[int, str] = {
    1: "SOL_SOCKET",
    0: "IPPROTO_IP",
    6: "IPPROTO_TCP",
    17: "IPPROTO_UDP",
    41: "IPPROTO_IPV6",
    0xFFFF: "0xffff",
}
OPTION_NAMES: Mapping[int, Mapping[int, str]] = {
    1: {
        1: "SO_DEBUG",
        2: "SO_REUSEADDR",
        3: "SO_TYPE",
        4: "SO_ERROR",
        5: "SO_DONTROUTE",
        6: "SO_BROADCAST",
        7: "SO_SNDBUF",
        8: "SO_RCVBUF",
        9: "SO_KEEPALIVE",
        10: "SO_OOBINLINE",
        13: "SO_LINGER",
        15: "SO_REUSEPORT",
    },
    0: {1: "IP_TOS", 2: "IP_TTL"},
    6: {1: "TCP_NODELAY", 2: "TCP_MAXSEG", 4: "TCP_KEEPIDLE", 5: "TCP_KEEPINTVL"},
    17: {1: "UDP_CORK"},
    41: {},
}
SOCKET_NAMES = frozenset(dir(_socket))

MENTION = re.compile(
    r"setsockopt\s*\([^)\n]*\)?|SO_REUSEADDR|allow_reuse_address\s*=\s*\w+|reuse_address\s*=\s*\w+"
)
