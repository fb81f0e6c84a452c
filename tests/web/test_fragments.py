"""Fragments: rendered once per distinct value, escaped like any template."""

from __future__ import annotations

import jinja2

from sockdojo.web.fragments import fragment_renderer


def test_a_fragment_is_remembered_by_its_values_and_escaped() -> None:
    env = jinja2.Environment(
        loader=jinja2.DictLoader({"f.html": "<b>{{ name }}</b>{{ n }}"}), autoescape=True
    )
    fragment = fragment_renderer(env)
    first = fragment("f.html", name="<i>", n=1)
    assert first == "<b>&lt;i&gt;</b>1"
    assert fragment("f.html", name="<i>", n=1) is first  # remembered
    assert fragment("f.html", name="<i>", n=2) == "<b>&lt;i&gt;</b>2"
    assert str(jinja2.Template("{{ x }}", autoescape=True).render(x=first)) == first  # safe
