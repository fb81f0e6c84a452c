"""The class-mode API: device login (RFC 8628), the current token, flags minted for runs,
and run reports. Everything but the device endpoints needs an API token (`Authorization:
Bearer`): these are the CLI's, not the browser's."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sockdojo.challenges import registry
from sockdojo.storage import device_codes
from sockdojo.storage.device_codes import Poll
from sockdojo.web.api import PREFIX
from sockdojo.web.classroom import Classroom, RunInput
from sockdojo.web.context import in_database, require_viewer
from sockdojo.web.dojo import FormError, RateLimited, Viewer
from sockdojo.web.security import BEARER_REFUSED, bearer_token, client_address

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
BODY_LIMIT = 8 * 1024
FIELD_LIMIT = 64
DIAGNOSES_LIMIT = 20
# Diagnosis codes as `sockdojo.mistakes` names them: "nothing-listening", "udp-server".
DIAGNOSIS_CODE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")

POLL_DESCRIPTIONS = {
    Poll.PENDING: "The code has not been approved yet: keep polling.",
    Poll.SLOW_DOWN: "Polling too often: wait the interval (now 5 seconds longer).",
    Poll.EXPIRED: "The code expired (codes last 10 minutes): run sockdojo login again.",
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
    try:
        payload = json.loads(body)
    except ValueError:
        raise HTTPException(400, "The body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise HTTPException(400, "Send a JSON object.")
    return payload


def _text(fields: dict[str, Any], name: str, *, required: bool = False) -> str:
    value = fields.get(name, "")
    if not isinstance(value, str) or (required and not value):
        raise HTTPException(400, f"{name} must be a string.")
    return value[:FIELD_LIMIT]


def _limited(limited: RateLimited) -> Response:
    return JSONResponse(
        {"error": limited.message, "retry_after": limited.retry_after},
        status_code=429,
        headers={"Retry-After": str(limited.retry_after)},
    )


# Device authorization (RFC 8628)


async def device_code(request: Request) -> Response:
    fields = await _fields(request)
    try:
        code, user_code = await in_database(
            classroom_of(request).start_device,
            _text(fields, "client_host"),
            _text(fields, "client_platform"),
            client_address(request),
        )
    except RateLimited as limited:
        return _limited(limited)
    base = public_url(request)
    shown = device_codes.shown_user_code(user_code)
    return JSONResponse(
        {
            "device_code": code,
            "user_code": shown,
            "verification_uri": f"{base}/device",
            "verification_uri_complete": f"{base}/device?user_code={shown}",
            "expires_in": int(device_codes.LIFETIME.total_seconds()),
            "interval": device_codes.INTERVAL,
        },
        headers={"Cache-Control": "no-store"},
    )


async def device_token(request: Request) -> Response:
    fields = await _fields(request)
    if fields.get("grant_type") != GRANT_TYPE:
        return JSONResponse(
            {"error": "unsupported_grant_type", "error_description": f"Use {GRANT_TYPE}."},
            status_code=400,
        )
    code = fields.get("device_code")
    if not isinstance(code, str) or not code or len(code) > 128:
        result = device_codes.PollResult(Poll.INVALID)
    else:
        result = await in_database(classroom_of(request).poll_device, code)
    if result.outcome is not Poll.GRANTED:
        return JSONResponse(
            {
                "error": result.outcome.value,
                "error_description": POLL_DESCRIPTIONS[result.outcome],
            },
            status_code=400,
            headers={"Cache-Control": "no-store"},
        )
    assert result.token is not None
    assert result.expires_at is not None
    lifetime = result.expires_at - classroom_of(request).now()
    return JSONResponse(
        {
            "access_token": result.token,
            "token_type": "Bearer",
            "expires_in": int(lifetime.total_seconds()),
        },
        headers={"Cache-Control": "no-store"},
    )


# The token in use


async def current_token(request: Request) -> Response:
    viewer = await require_token(request)
    return JSONResponse(
        {
            "account": {"name": viewer.name, "admin": viewer.is_admin, "hidden": viewer.is_hidden},
            "server": public_url(request),
        }
    )


async def revoke_current_token(request: Request) -> Response:
    viewer = await require_token(request)
    assert viewer.token_id is not None
    # Revoked meanwhile (FormError) is the outcome asked for.
    with contextlib.suppress(FormError):
        await in_database(classroom_of(request).revoke_token, viewer, viewer.token_id)
    return JSONResponse({"revoked": True})


# Flags and runs


async def mint_flag(request: Request) -> Response:
    if request.path_params["module"] != registry.MODULE_ID:
        raise HTTPException(404, "There is no such module.")
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
        return _limited(limited)
    return JSONResponse({"flag": flag, "challenge": challenge.id})


def _run_input(fields: dict[str, Any]) -> RunInput:
    challenge = fields.get("challenge")
    if not isinstance(challenge, str) or registry.get(challenge) is None:
        raise HTTPException(400, "challenge must be one of this module's challenges.")
    passed = fields.get("passed")
    duration = fields.get("duration_ms")
    diagnoses = fields.get("diagnoses", [])
    if not isinstance(passed, bool):
        raise HTTPException(400, "passed must be true or false.")
    if not isinstance(duration, int) or isinstance(duration, bool) or not 0 <= duration < 2**31:
        raise HTTPException(400, "duration_ms must be a whole number of milliseconds.")
    if (
        not isinstance(diagnoses, list)
        or len(diagnoses) > DIAGNOSES_LIMIT
        or not all(
            isinstance(code, str) and DIAGNOSIS_CODE.fullmatch(code) is not None
            for code in diagnoses
        )
    ):
        raise HTTPException(400, "diagnoses must be a short list of diagnosis codes.")
    return RunInput(
        challenge_id=challenge,
        passed=passed,
        diagnoses=tuple(diagnoses),
        duration_ms=duration,
        version=_text(fields, "version")[:32] or "unknown",
        platform=_text(fields, "platform") or "unknown",
        run_key=_text(fields, "run") or None,
    )


async def report_run(request: Request) -> Response:
    viewer = await require_token(request)
    run = _run_input(await _fields(request))
    try:
        await in_database(classroom_of(request).record_run, viewer, run)
    except RateLimited as limited:
        return _limited(limited)
    return JSONResponse({"recorded": True}, status_code=201)


async def my_runs(request: Request) -> Response:
    viewer = await require_token(request)
    found = await in_database(classroom_of(request).last_runs, viewer.id)
    return JSONResponse(
        {
            "runs": [
                {
                    "challenge": run.challenge_id,
                    "passed": run.passed,
                    "diagnoses": list(run.diagnoses),
                    "duration_ms": run.duration_ms,
                    "version": run.version,
                    "platform": run.platform,
                    "at": run.created_at.isoformat(),
                }
                for run in found
            ]
        }
    )


ROUTES = [
    Route(f"{PREFIX}/device/code", device_code, methods=["POST"]),
    Route(f"{PREFIX}/device/token", device_token, methods=["POST"]),
    Route(f"{PREFIX}/tokens/current", current_token, methods=["GET"]),
    Route(f"{PREFIX}/tokens/current", revoke_current_token, methods=["DELETE"]),
    Route(
        f"{PREFIX}/modules/{{module}}/challenges/{{challenge}}/flag", mint_flag, methods=["POST"]
    ),
    Route(f"{PREFIX}/runs", report_run, methods=["POST"]),
    Route(f"{PREFIX}/runs", my_runs, methods=["GET"]),
]
