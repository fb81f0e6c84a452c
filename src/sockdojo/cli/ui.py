"""Terminal output: colour only on a terminal and never when NO_COLOR is set."""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from sockdojo.api_shapes import Shape


def _colour_enabled() -> bool:
    return not os.environ.get("NO_COLOR") and sys.stdout.isatty()


def paint(text: str, colour: str, *, bold: bool = False) -> str:
    if not _colour_enabled():
        return text
    return click.style(text, fg=colour, bold=bold)


def say(text: str = "") -> None:
    click.echo(text)


def say_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, sort_keys=False))


def say_shape(shape: Shape) -> None:
    """One of the API's shapes, printed as `say_json` prints any document."""
    import msgspec

    say_json(msgspec.to_builtins(shape))
