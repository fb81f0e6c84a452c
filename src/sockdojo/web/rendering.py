"""Pages: the templates' environment (filters, names of windows and verdicts, fragments) and
`render`, which gives every page the viewer, the CSRF token, the flashes and the clock."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from sockdojo.challenges import registry
from sockdojo.config import ACCOUNT_NAME_RULE
from sockdojo.scoreboard.model import WINDOWS
from sockdojo.verdict import Verdict
from sockdojo.web.context import current_viewer, dojo_of
from sockdojo.web.dojo import Viewer
from sockdojo.web.fragments import fragment_renderer
from sockdojo.web.security import csrf_token, take_flashes

WINDOW_NAMES = {30: "30 days", 7: "7 days", 0: "All time"}

# Keyed by Verdict, a str enum: the verdict strings read back from the database find them too.
VERDICT_NAMES: dict[str, str] = {
    Verdict.SOLVED: "solved",
    Verdict.ALREADY_SOLVED: "correct (already solved)",
    Verdict.NOT_A_FLAG: "not a flag",
    Verdict.OTHER_DOJO: "from another dojo",
    Verdict.TRUNCATED: "cut short",
    Verdict.NOT_YOURS: "someone else's flag",
    Verdict.WRONG_CHALLENGE: "for another challenge",
    Verdict.UNKNOWN_CHALLENGE: "retired challenge",
    Verdict.RATE_LIMITED: "refused: too many wrong flags",
}


def when(value: dt.datetime | str) -> str:
    """A time for a page; a string is an API shape's timestamp (`datetime.isoformat()`)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def ago(value: dt.datetime, now: dt.datetime) -> str:
    seconds = int((now - value).total_seconds())
    if seconds < 60:
        return "just now"
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"  # pragma: no cover - the loop always returns


def make_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("sockdojo.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # The templates ship with the package: no stat() of the template file on every page.
        auto_reload=False,
    )
    env.filters["when"] = when
    env.globals["module"] = {"id": registry.MODULE_ID, "title": registry.MODULE_TITLE}
    env.globals["window_names"] = WINDOW_NAMES
    env.globals["windows"] = WINDOWS
    env.globals["verdict_names"] = VERDICT_NAMES
    env.globals["account_name_rule"] = ACCOUNT_NAME_RULE
    env.globals["fragment"] = fragment_renderer(env)
    return Jinja2Templates(env=env)


async def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    look_up_viewer: bool = True,
) -> Response:
    """A page from `template`. Without `look_up_viewer` it names the viewer only if the request
    looked them up already: for the pages that must not wait for the database."""
    dojo = dojo_of(request)
    now = dojo.now()
    # A refusal before the session middleware ran (a body declared too large) has no session.
    has_session = "session" in request.scope
    if look_up_viewer and has_session:
        viewer = await current_viewer(request)
    else:
        known = getattr(request.state, "viewer", None)
        viewer = known if isinstance(known, Viewer) else None
    page: dict[str, Any] = {
        "viewer": viewer,
        "csrf_token": csrf_token(request) if has_session else "",
        "flashes": take_flashes(request) if has_session else [],
        "now": now,
        "ago": lambda value: ago(value, now),
        "flag_prefix": dojo.authority.prefix,
    }
    page.update(context or {})
    templates = request.app.state.templates
    assert isinstance(templates, Jinja2Templates)
    return templates.TemplateResponse(
        request, template, page, status_code=status_code, headers=headers
    )
