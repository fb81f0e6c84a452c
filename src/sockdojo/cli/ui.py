"""Terminal output: colour only on a terminal and never when NO_COLOR is set."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click


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
