"""Per-account, per-challenge flags that can be verified without storing them."""

from sockdojo.flags.authority import FlagAuthority, FlagCheck, FlagProblem, HmacFlagAuthority
from sockdojo.flags.secret import load_or_create_secret

__all__ = [
    "FlagAuthority",
    "FlagCheck",
    "FlagProblem",
    "HmacFlagAuthority",
    "load_or_create_secret",
]
