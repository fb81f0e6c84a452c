"""Parts of a page that are the same for every viewer, rendered once per distinct value.

The module page's board rows and chart are most of its rendering time (Jinja macros per row,
an SVG per hacker), yet they are the same for everyone who looks at the same moment. A fragment
is a template rendered from hashable values only (frozen dataclasses, tuples, strings), never
from the viewer, the clock or the request: its text is a function of its values, so caching it
by them keeps every page exact; a new solve makes new values, hence a new fragment.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable

import jinja2
from markupsafe import Markup

# Distinct values kept per process: the three windows' boards and charts, a few generations each.
FRAGMENTS_KEPT = 64


def fragment_renderer(env: jinja2.Environment) -> Callable[..., Markup]:
    """`fragment(template, **values)`: the template rendered with only these values (and the
    environment's constant globals), remembered by them."""

    @functools.lru_cache(maxsize=FRAGMENTS_KEPT)
    def fragment(template: str, **values: Hashable) -> Markup:
        # Safe to mark: the template escapes what it shows (autoescape is on).
        return Markup(env.get_template(template).render(**values))  # noqa: S704

    return fragment
