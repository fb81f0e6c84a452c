"""The OpenAPI description of the class-mode API (`class_api.py`, `instructor.py`), merged
into `openapi.document()`; a test keeps it in step with those routes."""

from __future__ import annotations

from typing import Any

from sockdojo.web.openapi import _MODULE, _error, _ok, _ref

_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"
_TOKEN: list[dict[str, list[str]]] = [{"bearer": []}]
_LIMITED = {
    "description": "Over the per-account limit",
    "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
    "content": {_JSON: {"schema": _ref("Error")}},
}
_OAUTH_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "string",
            "enum": [
                "authorization_pending",
                "slow_down",
                "expired_token",
                "access_denied",
                "invalid_grant",
                "unsupported_grant_type",
            ],
        },
        "error_description": {"type": "string"},
    },
}
_STRING = {"type": "string"}
_INTEGER = {"type": "integer"}

SCHEMAS: dict[str, Any] = {
    "DeviceCode": {
        "type": "object",
        "required": [
            "device_code",
            "user_code",
            "verification_uri",
            "verification_uri_complete",
            "expires_in",
            "interval",
        ],
        "properties": {
            "device_code": _STRING,
            "user_code": {"type": "string", "description": "XXXX-XXXX, consonants only"},
            "verification_uri": {"type": "string", "format": "uri"},
            "verification_uri_complete": {"type": "string", "format": "uri"},
            "expires_in": _INTEGER,
            "interval": _INTEGER,
        },
    },
    "RunReport": {
        "type": "object",
        "required": ["challenge", "passed", "duration_ms"],
        "properties": {
            "challenge": _STRING,
            "passed": {"type": "boolean"},
            "diagnoses": {"type": "array", "items": _STRING, "maxItems": 20},
            "duration_ms": {"type": "integer", "minimum": 0},
            "version": _STRING,
            "platform": _STRING,
            "run": {"type": "string", "description": "The run's key, as sent when minting"},
        },
    },
}


def paths() -> dict[str, Any]:
    return {
        "/api/v1/device/code": {
            "post": {
                "summary": "Start a device login (RFC 8628 section 3.1)",
                "requestBody": {
                    "content": {
                        _FORM: {
                            "schema": {
                                "type": "object",
                                "properties": {"client_host": _STRING, "client_platform": _STRING},
                            }
                        }
                    }
                },
                "responses": {"200": _ok(_ref("DeviceCode")), "429": _LIMITED},
            }
        },
        "/api/v1/device/token": {
            "post": {
                "summary": "Poll for the device login's token (RFC 8628 section 3.4)",
                "requestBody": {
                    "required": True,
                    "content": {
                        _FORM: {
                            "schema": {
                                "type": "object",
                                "required": ["grant_type", "device_code"],
                                "properties": {"grant_type": _STRING, "device_code": _STRING},
                            }
                        }
                    },
                },
                "responses": {
                    "200": _ok(
                        {
                            "type": "object",
                            "properties": {
                                "access_token": _STRING,
                                "token_type": {"type": "string", "enum": ["Bearer"]},
                                "expires_in": _INTEGER,
                            },
                        }
                    ),
                    "400": _ok(_OAUTH_ERROR, "Not (yet) granted"),
                },
            }
        },
        "/api/v1/tokens/current": {
            "get": {
                "summary": "The account of the token in use",
                "security": _TOKEN,
                "responses": {"200": _ok({"type": "object"}), "401": _error("No live token")},
            },
            "delete": {
                "summary": "Revoke the token in use (logout)",
                "security": _TOKEN,
                "responses": {"200": _ok({"type": "object"}), "401": _error("No live token")},
            },
        },
        "/api/v1/modules/{module}/challenges/{challenge}/flag": {
            "post": {
                "summary": "Mint the token's account's flag for a challenge (a CLI run)",
                "security": _TOKEN,
                "parameters": [
                    _MODULE,
                    {"name": "challenge", "in": "path", "required": True, "schema": _STRING},
                ],
                "responses": {
                    "200": _ok(
                        {"type": "object", "properties": {"flag": _STRING, "challenge": _STRING}}
                    ),
                    "401": _error("No live token"),
                    "404": _error("No such module or challenge"),
                    "429": _LIMITED,
                },
            }
        },
        "/api/v1/runs": {
            "post": {
                "summary": "Store a CLI run's report",
                "security": _TOKEN,
                "requestBody": {
                    "required": True,
                    "content": {_JSON: {"schema": _ref("RunReport")}},
                },
                "responses": {
                    "201": _ok({"type": "object"}, "Stored"),
                    "400": _error("Not a valid report"),
                    "401": _error("No live token"),
                    "429": _LIMITED,
                },
            },
            "get": {
                "summary": "The token's account's last runs",
                "security": _TOKEN,
                "responses": {"200": _ok({"type": "object"}), "401": _error("No live token")},
            },
        },
        "/api/v1/admin/class": {
            "get": {
                "summary": "The instructor view: progress matrix and where the class is stuck",
                "security": [{"session": []}],
                "responses": {
                    "200": _ok({"type": "object"}),
                    "403": _error("Not an admin signed in in a browser"),
                },
            }
        },
    }
