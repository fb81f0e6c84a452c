"""The reuse-address challenge: static analysis and a behaviour proof of SO_REUSEADDR."""

from sockdojo.challenges.reuse_address.runner import run_reuse_address

__all__ = ["run_reuse_address"]
