"""Challenge descriptions are Markdown; raw HTML in them is shown as text, never run."""

from __future__ import annotations

from functools import cache

from markdown_it import MarkdownIt
from markupsafe import Markup

_RENDERER = MarkdownIt("commonmark", {"html": False})


@cache
def render(text: str) -> Markup:
    # Safe to mark: with html off, markdown-it escapes every character of the source that could
    # open a tag, and its link validator drops javascript: and similar URLs.
    return Markup(_RENDERER.render(text))  # noqa: S704
