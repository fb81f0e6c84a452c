"""Which challenges make up a module, for the scoreboard.

The Sockets module's challenges come from `challenges.registry`. Other modules (the benchmark's
synthetic module of 200 challenges, a future second module) are registered here, so that the
SQL reference and the live engine never assume the five Sockets challenges.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sockdojo.challenges import registry


@dataclass(frozen=True)
class ModuleSpec:
    id: str
    title: str
    challenges: tuple[registry.Challenge, ...]

    @property
    def challenge_ids(self) -> tuple[str, ...]:
        return tuple(challenge.id for challenge in self.challenges)


SOCKETS = ModuleSpec(registry.MODULE_ID, registry.MODULE_TITLE, registry.CHALLENGES)
_registered: dict[str, ModuleSpec] = {}
# Bumped by every change, so that a cache can tell that its module list is stale.
generation = 0


def register(module_id: str, title: str, challenges: Iterable[tuple[str, str]]) -> ModuleSpec:
    """Declare a module with these (challenge id, title) pairs, in display order."""
    global generation
    if module_id == registry.MODULE_ID:
        raise ValueError("the Sockets module is defined by challenges.registry")
    spec = ModuleSpec(
        module_id,
        title,
        tuple(
            registry.Challenge(challenge_id, number, challenge_title, "", "")
            for number, (challenge_id, challenge_title) in enumerate(challenges, start=1)
        ),
    )
    if len(set(spec.challenge_ids)) != len(spec.challenges):
        raise ValueError(f"module {module_id!r} lists a challenge twice")
    _registered[module_id] = spec
    generation += 1
    return spec


def unregister(module_id: str) -> None:
    global generation
    if _registered.pop(module_id, None) is not None:
        generation += 1


def spec(module_id: str) -> ModuleSpec | None:
    if module_id == registry.MODULE_ID:
        return SOCKETS
    return _registered.get(module_id)


def challenges(module_id: str) -> tuple[registry.Challenge, ...]:
    found = spec(module_id)
    return found.challenges if found is not None else ()


def title(module_id: str) -> str:
    found = spec(module_id)
    return found.title if found is not None else module_id
