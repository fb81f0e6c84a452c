"""The class-mode API: device login (RFC 8628), the current token, flags minted for runs,
and run reports. Everything but the device endpoints needs an API token (`Authorization:
Bearer`): these are the CLI's, not the browser's."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from sockdojo import api_shapes as shapes
from sockdojo.challenges import registry
from sockdojo.storage import device_codes
from sockdojo.storage.device_codes import Poll
from sockdojo.storage.runs import Report
from sockdojo.web.api import module_of, slow_down
from sockdojo.web.api_routes import (
    BEARER,
    FORM,
    JSON,
    RETRY_AFTER,
    ApiRoute,
    Body,
    ModuleId,
    Reply,
    answer,
)
from sockdojo.web.classroom import Classroom
from sockdojo.web.context import require_viewer
from sockdojo.web.database_work import in_database
from sockdojo.web.dojo import FormError, RateLimited, Viewer
from sockdojo.web.inputs import parse_json
from sockdojo.web.security import BEARER_REFUSED, bearer_token, client_address

BODY_LIMIT = 8 * 1024
FIELD_LIMIT = 64
NO_STORE = {"Cache-Control": "no-store"}

# What a poll that gave no token answers (RFC 8628 section 3.5), and why.
OAUTH_ERRORS: dict[Poll, shapes.OAuthErrorCode] = {
    Poll.PENDING: "authorization_pending",
    Poll.SLOW_DOWN: "slow_down",
    Poll.EXPIRED: "expired_token",
    Poll.DENIED: "access_denied",
    Poll.INVALID: "invalid_grant",
}
POLL_DESCRIPTIONS = {
    Poll.PENDING: "The code has not been approved yet: keep polling.",
    Poll.SLOW_DOWN: "Polling too often: wait the interval (now 5 seconds longer).",
    Poll.EXPIRED: (
        f"The code expired (codes last {device_codes.LIFETIME_WORDS}): run sockdojo login again."
    ),
    Poll.DENIED: "The login was denied in the browser.",
    Poll.INVALID: "That device code is unknown or was already used: run sockdojo login again.",
}


def classroom_of(request: Request) -> Classroom:
    classroom = request.app.state.classroom
    assert isinstance(classroom, Classroom)
    return classroom


def public_url(request: Request) -> str:
    """The URL learners reach the dojo at: `--public-url`, else the one this request used."""
    configured = request.app.state.public_url
    return str(configured or request.base_url).rstrip("/")


async def require_token(request: Request) -> Viewer:
    """The account of the request's API token; a browser session is not enough (401)."""
    if bearer_token(request) is None:
        raise HTTPException(401, BEARER_REFUSED, headers={"WWW-Authenticate": "Bearer"})
    return await require_viewer(request)


async def _fields(request: Request) -> dict[str, Any]:
    """A small JSON object or form (RFC 8628 clients send forms) as a dict of its fields."""
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    body = await request.body()
    if len(body) > BODY_LIMIT:
        raise HTTPException(413, "That request is far too large.")
    if kind == "application/x-www-form-urlencoded":
        form = await request.form(max_files=0, max_fields=20)
        return {key: value for key, value in form.items() if isinstance(value, str)}
    if kind != "application/json":
        raise HTTPException(415, "Send JSON (or a form, for the device endpoints).")
    payload = parse_json(body)
    if not isinstance(payload, dict):
        raise HTTPException(400, "Send a JSON object.")
    return payload


def _text(fields: dict[str, Any], name: str, *, required: bool = False) -> str:
    value = fields.get(name, "")
    if not isinstance(value, str) or (required and not value):
        raise HTTPException(400, f"{name} must be a string.")
    return value[:FIELD_LIMIT]


# Device authorization (RFC 8628)


async def device_code(request: Request) -> Response:
    """Start a device login (RFC 8628 section 3.1)"""
    fields = await _fields(request)
    try:
        code, user_code = await in_database(
            classroom_of(request).start_device,
            _text(fields, "client_host"),
            _text(fields, "client_platform"),
            client_address(request),
        )
    except RateLimited as limited:
        return slow_down(limited)
    base = public_url(request)
    shown = device_codes.shown_user_code(user_code)
    return answer(
        shapes.DeviceCode(
            device_code=code,
            user_code=shown,
            verification_uri=f"{base}/device",
            verification_uri_complete=f"{base}/device?user_code={shown}",
            expires_in=int(device_codes.LIFETIME.total_seconds()),
            interval=device_codes.INTERVAL,
        ),
        headers=NO_STORE,
    )


async def device_token(request: Request) -> Response:
    """Poll for the device login's token (RFC 8628 section 3.4)"""
    fields = await _fields(request)
    if fields.get("grant_type") != shapes.DEVICE_GRANT:
        return answer(
            shapes.OAuthError(
                error="unsupported_grant_type", error_description=f"Use {shapes.DEVICE_GRANT}."
            ),
            400,
        )
    code = fields.get("device_code")
    if not isinstance(code, str) or not code or len(code) > 128:
        result = device_codes.PollResult(Poll.INVALID)
    else:
        result = await in_database(classroom_of(request).poll_device, code)
    if result.outcome is not Poll.GRANTED:
        return answer(
            shapes.OAuthError(
                error=OAUTH_ERRORS[result.outcome],
                error_description=POLL_DESCRIPTIONS[result.outcome],
            ),
            400,
            NO_STORE,
        )
    assert result.token is not None
    assert result.expires_at is not None
    lifetime = result.expires_at - classroom_of(request).now()
    return answer(
        shapes.DeviceToken(
            access_token=result.token,
            expires_in=int(lifetime.total_seconds()),
        ),
        headers=NO_STORE,
    )


# The token in use


async def current_token(request: Request) -> Response:
    """The account of the token in use"""
    viewer = await require_token(request)
    return answer(shapes.CurrentToken(account=viewer.account_shape(), server=public_url(request)))


async def revoke_current_token(request: Request) -> Response:
    """Revoke the token in use (logout)"""
    viewer = await require_token(request)
    assert viewer.token_id is not None
    # Revoked meanwhile (FormError) is the outcome asked for.
    with contextlib.suppress(FormError):
        await in_database(classroom_of(request).revoke_token, viewer, viewer.token_id)
    return answer(shapes.Revoked(revoked=True))


# Flags and runs


async def mint_flag(request: Request) -> Response:
    """Mint the token's account's flag for a challenge (a CLI run)"""
    module_of(request)
    challenge = registry.get(request.path_params["challenge"])
    if challenge is None:
        raise HTTPException(404, "There is no such challenge in this module.")
    viewer = await require_token(request)
    body = await request.body()
    fields = await _fields(request) if body else {}
    run_key = _text(fields, "run") or None
    try:
        flag = await in_database(classroom_of(request).mint, viewer, challenge, run_key)
    except RateLimited as limited:
        return slow_down(limited)
    return answer(shapes.MintedFlag(flag=flag, challenge=challenge.id))


# Why a refused report was refused: its first wrong field's message, in the shape's order.
REPORT_REFUSALS = {
    "challenge": "challenge must be one of this module's challenges.",
    "passed": "passed must be true or false.",
    "duration_ms": "duration_ms must be a whole number of milliseconds.",
    "diagnoses": "diagnoses must be a short list of diagnosis codes.",
}


def _run_input(fields: dict[str, Any]) -> Report:
    try:
        report = msgspec.convert(fields, shapes.RunReport)
    except msgspec.ValidationError:
        raise HTTPException(400, _report_refusal(fields)) from None
    if registry.get(report.challenge) is None:
        raise HTTPException(400, REPORT_REFUSALS["challenge"])
    return Report(
        challenge_id=report.challenge,
        passed=report.passed,
        diagnoses=tuple(report.diagnoses),
        duration_ms=report.duration_ms,
        version=report.version[:32] or "unknown",
        platform=report.platform[:FIELD_LIMIT] or "unknown",
        run_key=report.run[:FIELD_LIMIT] or None,
    )


def _report_refusal(fields: dict[str, Any]) -> str:
    """The message for a report the shape refused. msgspec stops at the first wrong field it
    meets in the body; the message names the first in the shape's order, each field checked
    against its own type in the shape (an unknown challenge comes first, as it always did)."""
    challenge = fields.get("challenge")
    if not isinstance(challenge, str) or registry.get(challenge) is None:
        return REPORT_REFUSALS["challenge"]
    for field in msgspec.structs.fields(shapes.RunReport):
        if field.encode_name not in fields:
            if field.required:
                return REPORT_REFUSALS[field.name]
            continue
        try:
            msgspec.convert(fields[field.encode_name], field.type)
        except msgspec.ValidationError:
            return REPORT_REFUSALS.get(field.name, f"{field.name} must be a string.")
    raise AssertionError(f"msgspec refused a report whose every field is valid: {fields}")


async def report_run(request: Request) -> Response:
    """Store a CLI run's report"""
    viewer = await require_token(request)
    run = _run_input(await _fields(request))
    try:
        await in_database(classroom_of(request).record_run, viewer, run)
    except RateLimited as limited:
        return slow_down(limited)
    return answer(shapes.Recorded(recorded=True), 201)


async def my_runs(request: Request) -> Response:
    """The token's account's last runs"""
    viewer = await require_token(request)
    found = await in_database(classroom_of(request).last_runs, viewer.id)
    return answer(
        shapes.Runs(
            runs=[
                shapes.Run(
                    challenge=run.challenge_id,
                    passed=run.passed,
                    diagnoses=list(run.diagnoses),
                    duration_ms=run.duration_ms,
                    version=run.version,
                    platform=run.platform,
                    at=run.created_at.isoformat(),
                )
                for run in found
            ]
        )
    )


NO_TOKEN = Reply(shapes.Error, "No live API token sent")
LIMITED = Reply(shapes.SlowDown, "Over the per-account limit", (RETRY_AFTER,))
TOO_LARGE = Reply(shapes.Error, "Body too large")
NOT_JSON = Reply(shapes.Error, "Body is neither JSON nor (device endpoints) a form")
BAD_BODY = Reply(shapes.Error, "Not a valid request body")


def _with_token(
    path: str, endpoint: Callable[[Request], Awaitable[Response]], shape: Any, method: str = "GET"
) -> ApiRoute:
    """A route that takes nothing but the API token and answers `shape`."""
    return ApiRoute(
        path,
        endpoint,
        method=method,
        security=BEARER,
        replies={200: Reply(shape, "OK"), 401: NO_TOKEN},
    )


ROUTES = [
    ApiRoute(
        "/device/code",
        device_code,
        method="POST",
        body=Body(shapes.DeviceCodeRequest, (FORM, JSON), required=False),
        replies={
            200: Reply(shapes.DeviceCode, "OK"),
            400: BAD_BODY,
            413: TOO_LARGE,
            415: NOT_JSON,
            429: LIMITED,
        },
    ),
    ApiRoute(
        "/device/token",
        device_token,
        method="POST",
        body=Body(shapes.DeviceTokenRequest, (FORM, JSON)),
        replies={
            200: Reply(shapes.DeviceToken, "OK"),
            400: Reply((shapes.OAuthError, shapes.Error), "Not (yet) granted, or not a request"),
            413: TOO_LARGE,
            415: NOT_JSON,
        },
    ),
    _with_token("/tokens/current", current_token, shapes.CurrentToken),
    _with_token("/tokens/current", revoke_current_token, shapes.Revoked, method="DELETE"),
    ApiRoute(
        "/modules/{module}/challenges/{challenge}/flag",
        mint_flag,
        method="POST",
        path_params={"module": ModuleId},
        body=Body(shapes.MintRequest, required=False),
        security=BEARER,
        replies={
            200: Reply(shapes.MintedFlag, "OK"),
            400: BAD_BODY,
            401: NO_TOKEN,
            404: Reply(shapes.Error, "No such module or challenge"),
            413: TOO_LARGE,
            415: NOT_JSON,
            429: LIMITED,
        },
    ),
    ApiRoute(
        "/runs",
        report_run,
        method="POST",
        body=Body(shapes.RunReport),
        security=BEARER,
        replies={
            201: Reply(shapes.Recorded, "Stored"),
            400: Reply(shapes.Error, "Not a valid report"),
            401: NO_TOKEN,
            413: TOO_LARGE,
            415: NOT_JSON,
            429: LIMITED,
        },
    ),
    _with_token("/runs", my_runs, shapes.Runs),
]
