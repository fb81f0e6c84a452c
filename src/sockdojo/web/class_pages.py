"""Class-mode pages: approving a CLI login (`/device`) and the account page's API tokens."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sockdojo.storage import device_codes
from sockdojo.web.class_api import classroom_of
from sockdojo.web.context import current_viewer, require_viewer
from sockdojo.web.database_work import in_database
from sockdojo.web.dojo import FormError
from sockdojo.web.pages import read_form, see_other, text
from sockdojo.web.rendering import render
from sockdojo.web.security import flash

ACCOUNT_PATH = "/account"


async def device_page(request: Request) -> Response:
    typed = request.query_params.get("user_code", "")[:32]
    viewer = await current_viewer(request)
    context: dict[str, Any] = {"user_code": typed, "pending": None, "problem": None}
    if viewer is None:
        target = "/device" + (f"?user_code={quote(typed)}" if typed else "")
        context["login_url"] = f"/login?next={quote(target)}"
        context["register_url"] = f"/register?next={quote(target)}"
        return await render(request, "device.html", context)
    if typed:
        pending = await in_database(classroom_of(request).pending_device, typed)
        if pending is None:
            context["problem"] = (
                "That code is unknown, already used or expired (codes last "
                f"{device_codes.LIFETIME_WORDS}). "
                "Check it, or run sockdojo login again for a new one."
            )
        else:
            context["pending"] = pending
            context["user_code"] = device_codes.shown_user_code(pending.user_code)
    return await render(request, "device.html", context, status_code=200)


async def device_decide(request: Request) -> Response:
    form = await read_form(request)
    viewer = await require_viewer(request)
    typed = text(form, "user_code")[:32]
    approve = text(form, "decision") == "approve"
    try:
        await in_database(classroom_of(request).decide_device, viewer, typed, approve)
    except FormError as problem:
        context = {"user_code": typed, "pending": None, "problem": str(problem)}
        return await render(request, "device.html", context, status_code=400)
    return await render(request, "device_done.html", {"approved": approve})


async def account_page(request: Request, *, new_token: str | None = None) -> Response:
    viewer = await require_viewer(request)
    classroom = classroom_of(request)
    mine = await in_database(classroom.tokens_of, viewer)
    every = (
        await in_database(classroom.every_token)
        if viewer.is_admin and viewer.token_id is None
        else []
    )
    return await render(
        request,
        "account.html",
        {
            "tokens": mine,
            "every_token": every,
            "new_token": new_token,
            "default_days": classroom.limits.token_lifetime.days,
        },
    )


async def account_view(request: Request) -> Response:
    return await account_page(request)


async def create_token(request: Request) -> Response:
    form = await read_form(request)
    viewer = await require_viewer(request)
    days = text(form, "days").strip()
    if days and not days.isdigit():
        raise HTTPException(400, "Give the lifetime in whole days.")
    try:
        token = await in_database(
            classroom_of(request).create_token,
            viewer,
            text(form, "name") or "token",
            int(days) if days else None,
        )
    except FormError as problem:
        flash(request, "error", str(problem))
        return see_other(ACCOUNT_PATH)
    # Shown in this very answer and nowhere else: not in a flash message, which would travel
    # in the (signed, not encrypted) session cookie.
    return await account_page(request, new_token=token)


async def revoke_token(request: Request) -> Response:
    await read_form(request)
    viewer = await require_viewer(request)
    try:
        await in_database(
            classroom_of(request).revoke_token, viewer, request.path_params["token_id"]
        )
    except FormError as problem:
        flash(request, "error", str(problem))
    else:
        flash(request, "ok", "Token revoked: it no longer opens anything.")
    return see_other(ACCOUNT_PATH)


ROUTES = [
    Route("/device", device_page, methods=["GET"], name="device"),
    Route("/device", device_decide, methods=["POST"]),
    Route(ACCOUNT_PATH, account_view, methods=["GET"], name="account"),
    Route(ACCOUNT_PATH + "/tokens", create_token, methods=["POST"]),
    Route(ACCOUNT_PATH + "/tokens/{token_id:int}/revoke", revoke_token, methods=["POST"]),
]
