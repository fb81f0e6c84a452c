"""A class network: each laptop a network namespace of its own, all on one bridge with the server.

A laptop's namespace has its own loopback (so every laptop runs its challenges on the real
127.0.0.1:1337 at once, as separate laptops do) and one link to a bridge made for the test; the
class server listens on the bridge's address only, which the test process (its browser, its
instructor) reaches as a local address. Nothing leaves the machine: the bridge has no other port,
and everything is removed afterwards. Making namespaces and links needs root (CI runs as root).
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field

import pytest

IP = shutil.which("ip") or "/usr/sbin/ip"


def _ip(*args: str) -> None:
    done = subprocess.run([IP, *args], capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def _free_subnet() -> str:
    """A 198.18.N.0/24 (the range set aside for tests of networks, RFC 2544) that no address
    or route of this machine uses, so the bridge takes no traffic meant elsewhere."""
    used = "".join(
        subprocess.run(
            [IP, "-4", "-o", *what], capture_output=True, text=True, timeout=30, check=True
        ).stdout
        for what in (["addr"], ["route", "show", "table", "all"])
    )
    if "198.18.0.0/15" in used:
        raise RuntimeError("this machine routes 198.18.0.0/15 somewhere: no test subnet")
    for _ in range(64):
        prefix = f"198.18.{secrets.randbelow(256)}"
        if f"{prefix}." not in used:
            return prefix
    raise RuntimeError("no free 198.18.N.0/24 on this machine")


@dataclass
class ClassNetwork:
    tag: str
    prefix: str  # the subnet's first three octets
    namespaces: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # the bridge's ends of the laptops' links

    @property
    def bridge(self) -> str:
        return f"sdc{self.tag}"

    @property
    def server_address(self) -> str:
        return f"{self.prefix}.1"

    @classmethod
    def create(cls) -> ClassNetwork:
        if os.geteuid() != 0:
            pytest.skip("a class of laptops needs root: a network namespace per laptop")
        network = cls(secrets.token_hex(3), _free_subnet())
        try:
            _ip("link", "add", network.bridge, "type", "bridge")
            _ip("addr", "add", f"{network.server_address}/24", "dev", network.bridge)
            _ip("link", "set", network.bridge, "up")
        except RuntimeError:
            network.close()
            raise
        return network

    def join(self) -> str:
        """A new laptop's namespace on the class network; its name."""
        number = len(self.namespaces) + 1
        assert number < 200
        name = f"sockdojo-{self.tag}-{number}"
        host_end, laptop_end = f"sdh{self.tag}{number}", f"sdl{self.tag}{number}"
        self.namespaces.append(name)
        address = ipaddress.ip_address(f"{self.prefix}.{10 + number}")
        _ip("netns", "add", name)
        self.links.append(host_end)
        _ip("link", "add", host_end, "type", "veth", "peer", "name", laptop_end)
        _ip("link", "set", laptop_end, "netns", name)
        _ip("link", "set", host_end, "master", self.bridge)
        _ip("link", "set", host_end, "up")
        inside = ("-n", name)
        _ip(*inside, "link", "set", "lo", "up")
        _ip(*inside, "addr", "add", f"{address}/24", "dev", laptop_end)
        _ip(*inside, "link", "set", laptop_end, "up")
        return name

    def close(self) -> None:
        # Deleting a namespace takes the link inside it, and so its peer, with it; a link that
        # never got that far (a step failed) is deleted by its name.
        for name in self.namespaces:
            subprocess.run([IP, "netns", "del", name], capture_output=True, timeout=30)
        for link in [*self.links, self.bridge]:
            subprocess.run([IP, "link", "del", link], capture_output=True, timeout=30)
