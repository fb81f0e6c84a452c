"""The HTML pages: home, module, challenge, hacker, accounts and admin."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from urllib.parse import quote

from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from sockdojo.challenges import registry
from sockdojo.storage.admin import visibility_said
from sockdojo.web import rendering
from sockdojo.web.context import as_viewer, current_viewer, dojo_of, require_admin
from sockdojo.web.database_work import PASSWORD_WORK_SECONDS, in_database
from sockdojo.web.dojo import FormError, RateLimited, Viewer, solves_csv
from sockdojo.web.inputs import check_text, parse_days
from sockdojo.web.markdown import render as markdown
from sockdojo.web.rendering import render
from sockdojo.web.security import (
    CSRF_FIELD,
    begin_signed_in,
    check_csrf,
    client_address,
    end_session,
    flash,
    safe_next,
    session_token,
)

MODULE_PATH = f"/{registry.MODULE_ID}/"
EXPORT_NAME = f"sockdojo-{registry.MODULE_ID}-solves.csv"
LAUNCH_YEARS = (1970, 9000)


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def read_form(request: Request) -> FormData:
    """The posted form, CSRF-checked. Small limits: our forms have a few short fields."""
    form = await request.form(max_files=0, max_fields=20, max_part_size=64 * 1024)
    check_csrf(request, form.get(CSRF_FIELD))
    return form


def text(form: FormData, name: str, *, keep_nul: bool = False) -> str:
    """A posted field's text ("" when absent); 400 if no database could store it. A flag may
    hold NUL (`keep_nul`): it is kept as U+FFFD and judged "not a flag", as from the CLI."""
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    check_text(value.replace("\x00", "") if keep_nul else value, f"field {name!r}")
    return value


async def home(request: Request) -> Response:
    dojo = dojo_of(request)
    states = await as_viewer(request, dojo.challenge_states)
    return await render(
        request,
        "home.html",
        {
            "solved": sum(state.solved for state in states),
            "total": len(states),
            "introduction": markdown(registry.module_introduction()),
        },
    )


async def module_page(request: Request) -> Response:
    days = parse_days(request.query_params.get("days"))
    dojo = dojo_of(request)
    page = await as_viewer(request, dojo.module_page, days)
    return await render(
        request,
        "module.html",
        {"page": page, "introduction": markdown(registry.module_introduction())},
    )


def _challenge(request: Request) -> registry.Challenge:
    challenge = registry.get(request.path_params["challenge"])
    if challenge is None:
        raise HTTPException(404, "There is no such challenge in this module.")
    return challenge


async def _challenge_response(
    request: Request,
    challenge: registry.Challenge,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    refused: str | None = None,
) -> Response:
    dojo = dojo_of(request)
    states = await as_viewer(request, dojo.challenge_states)
    viewer = await current_viewer(request)
    index = next(i for i, state in enumerate(states) if state.challenge.id == challenge.id)
    # Flags are minted per account: the CLI must act as the web account to earn this one. On a
    # class server (it has a public URL) learners' CLIs log in to it and act as their account;
    # elsewhere the description's commands are shown with the account, once, where taught.
    class_url = request.app.state.public_url
    local = viewer is not None and class_url is None
    command = f"sockdojo --account {viewer.name} " if local and viewer else "sockdojo "
    return await render(
        request,
        "challenge.html",
        {
            "challenge": challenge,
            "state": states[index],
            "previous": states[index - 1].challenge if index > 0 else None,
            "next": states[index + 1].challenge if index + 1 < len(states) else None,
            "description": _description(challenge, command),
            "refused": refused,
            "class_url": class_url,
        },
        status_code=status_code,
        headers=headers,
    )


def _description(challenge: registry.Challenge, command: str) -> Markup:
    try:
        return markdown(challenge.description.replace("    sockdojo run ", f"    {command}run "))
    except FileNotFoundError:
        # A challenge registered before its text was written: the page still works.
        return markdown(challenge.summary)


async def challenge_page(request: Request) -> Response:
    return await _challenge_response(request, _challenge(request))


async def submit_flag(request: Request) -> Response:
    challenge = _challenge(request)
    form = await read_form(request)
    viewer = await current_viewer(request)
    page = f"{MODULE_PATH}{challenge.id}/"
    if viewer is None:
        flash(request, "error", "Log in to submit flags.")
        return see_other(f"/login?next={quote(page)}")
    try:
        outcome = await in_database(
            dojo_of(request).submit, viewer, text(form, "flag", keep_nul=True), challenge.id, "web"
        )
    except RateLimited as limited:
        return await _challenge_response(
            request,
            challenge,
            status_code=429,
            headers={"Retry-After": str(limited.retry_after)},
            refused=limited.message,
        )
    flash(request, "ok" if outcome.correct else "error", outcome.message)
    return see_other(page + "#submit-flag")


async def hacker_page(request: Request) -> Response:
    viewer = await current_viewer(request)
    page = await in_database(dojo_of(request).hacker_page, request.path_params["name"], viewer)
    if page is None:
        raise HTTPException(404, "There is no hacker by that name.")
    # Class mode: the CLI's run reports, shown to their owner only.
    runs = (
        await in_database(request.app.state.classroom.last_runs, viewer.id)
        if viewer is not None and viewer.name == page.name
        else []
    )
    return await render(request, "hacker.html", {"hacker": page, "runs": runs})


# Accounts


async def _refused(
    request: Request, template: str, name: str, target: str, refused: FormError | RateLimited
) -> Response:
    """The registration or login form again, with the name typed and why it was refused: a
    mistake in the form (400), or too many tries (429, with when to try again)."""
    context = {"name": name, "next": target}
    if isinstance(refused, RateLimited):
        return await render(
            request,
            template,
            {**context, "problem": refused.message},
            status_code=429,
            headers={"Retry-After": str(refused.retry_after)},
        )
    return await render(request, template, {**context, "problem": str(refused)}, status_code=400)


async def register_page(request: Request) -> Response:
    return await _account_form(request, "register.html")


async def register(request: Request) -> Response:
    def create(form: FormData, address: str) -> tuple[Viewer, str]:
        dojo = dojo_of(request)
        name = text(form, "name").strip()
        return dojo.register(name, text(form, "password"), text(form, "confirm"), address)

    return await _sign_in(request, "register.html", create, "Welcome, {}! Your account is ready.")


async def login_page(request: Request) -> Response:
    return await _account_form(request, "login.html")


async def login(request: Request) -> Response:
    def check(form: FormData, address: str) -> tuple[Viewer, str]:
        name = text(form, "name").strip()
        return dojo_of(request).login(name, text(form, "password"), address)

    return await _sign_in(request, "login.html", check, "Welcome back, {}.")


async def _account_form(request: Request, template: str) -> Response:
    target = safe_next(request.query_params.get("next"), MODULE_PATH)
    return await render(request, template, {"name": "", "problem": None, "next": target})


async def _sign_in(
    request: Request,
    template: str,
    attempt: Callable[[FormData, str], tuple[Viewer, str]],
    welcome: str,
) -> Response:
    """Register or log in from the posted form (`attempt`, off the event loop: it checks a
    password), then go where the form came from (a local path only: back to a CLI's device
    login, say); refused, the form again with why."""
    form = await read_form(request)
    target = safe_next(text(form, "next"), MODULE_PATH)
    try:
        viewer, token = await in_database(
            attempt, form, client_address(request), seconds=PASSWORD_WORK_SECONDS
        )
    except (FormError, RateLimited) as refused:
        name = text(form, "name").strip()
        return await _refused(request, template, name, target, refused)
    begin_signed_in(request, token)
    flash(request, "ok", welcome.format(viewer.name))
    return see_other(target)


async def logout(request: Request) -> Response:
    await read_form(request)
    token = session_token(request)
    if token:
        await in_database(dojo_of(request).logout, token)
    end_session(request)
    flash(request, "ok", "You are logged out.")
    return see_other("/")


# Administration


async def admin_page(request: Request) -> Response:
    await require_admin(request)
    page = await in_database(dojo_of(request).admin_page)
    return await render(request, "admin.html", {"page": page})


async def _admin_action(request: Request) -> tuple[FormData, Viewer]:
    form = await read_form(request)
    return form, await require_admin(request)


async def admin_set_hidden(request: Request) -> Response:
    form, _ = await _admin_action(request)
    hidden = text(form, "hidden") == "1"
    try:
        name = await in_database(
            dojo_of(request).set_hidden, request.path_params["account_id"], hidden
        )
    except FormError as problem:
        flash(request, "error", str(problem))
    else:
        flash(request, "ok", visibility_said(name, hidden))
    return see_other("/admin")


async def admin_grant_badge(request: Request) -> Response:
    form, admin = await _admin_action(request)
    try:
        await in_database(
            dojo_of(request).grant_badge,
            admin,
            text(form, "hacker").strip(),
            text(form, "emoji"),
            text(form, "title"),
        )
    except FormError as problem:
        flash(request, "error", str(problem))
    else:
        flash(request, "ok", "Badge granted.")
    return see_other("/admin")


async def admin_revoke_badge(request: Request) -> Response:
    await _admin_action(request)
    try:
        await in_database(dojo_of(request).revoke_badge, request.path_params["badge_id"])
    except FormError as problem:
        flash(request, "error", str(problem))
    else:
        flash(request, "ok", "Badge taken back.")
    return see_other("/admin")


def parse_launch_date(raw: str) -> dt.datetime:
    """A date and time from the form's datetime-local field, read as UTC."""
    try:
        when = dt.datetime.fromisoformat(raw.strip())
        when = when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved past the ends
        raise FormError("Give the launch date as YYYY-MM-DD HH:MM (UTC).") from None
    # The scoreboard's windows count days before and after it: keep clear of the calendar's ends.
    if not LAUNCH_YEARS[0] <= when.year <= LAUNCH_YEARS[1]:
        raise FormError(f"Give a launch date between {LAUNCH_YEARS[0]} and {LAUNCH_YEARS[1]}.")
    return when


async def admin_set_launch(request: Request) -> Response:
    form, _ = await _admin_action(request)
    try:
        when = parse_launch_date(text(form, "launched_at"))
        await in_database(dojo_of(request).set_launch_date, when)
    except FormError as problem:
        flash(request, "error", str(problem))
    else:
        flash(request, "ok", f"The module now counts solves from {rendering.when(when)}.")
    return see_other("/admin")


async def admin_export(request: Request) -> Response:
    await require_admin(request)
    # Read under the database deadline like every page (a hung database is a 503), then
    # streamed without it.
    records = await in_database(dojo_of(request).solve_records)
    return StreamingResponse(
        iter(solves_csv(records)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{EXPORT_NAME}"'},
    )


ROUTES = [
    Route("/", home, name="home"),
    Route(MODULE_PATH, module_page, name="module"),
    Route(MODULE_PATH + "{challenge}/", challenge_page, name="challenge"),
    Route(MODULE_PATH + "{challenge}/submit", submit_flag, methods=["POST"], name="submit"),
    Route("/hacker/{name}", hacker_page, name="hacker"),
    Route("/register", register_page, methods=["GET"], name="register"),
    Route("/register", register, methods=["POST"]),
    Route("/login", login_page, methods=["GET"], name="login"),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"], name="logout"),
    Route("/admin", admin_page, name="admin"),
    Route("/admin/accounts/{account_id:int}/hidden", admin_set_hidden, methods=["POST"]),
    Route("/admin/badges", admin_grant_badge, methods=["POST"]),
    Route("/admin/badges/{badge_id:int}/revoke", admin_revoke_badge, methods=["POST"]),
    Route("/admin/launch", admin_set_launch, methods=["POST"]),
    Route("/admin/solves.csv", admin_export, name="export"),
]
