"""The API's OpenAPI 3.1 description, written out by hand so that it is exact.

A test checks that every API route is described here and nothing else.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sockdojo import __version__
from sockdojo.challenges import registry
from sockdojo.verdict import CHECKED

_JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _ok(_ref("Error"), description)


_MODULE = {
    "name": "module",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "enum": [registry.MODULE_ID]},
}

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string"}},
    },
    "Award": {
        "type": "object",
        "required": ["emoji", "title", "kind"],
        "properties": {
            "emoji": {"type": "string"},
            "title": {"type": "string"},
            "kind": {"type": "string", "enum": ["completion", "first_blood", "granted"]},
        },
    },
    "Row": {
        "type": "object",
        "required": ["rank", "hacker", "badges", "score", "last_solve_at", "awards"],
        "properties": {
            "rank": {"type": "integer", "minimum": 1},
            "hacker": {"type": "string"},
            "badges": {
                "type": "array",
                "items": {"type": "string"},
                "description": "The badges' emoji, in display order.",
            },
            "score": {"type": "integer", "minimum": 1},
            "last_solve_at": {"type": "string", "format": "date-time"},
            "awards": {"type": "array", "items": _ref("Award")},
        },
    },
    "Scoreboard": {
        "type": "object",
        "required": ["days", "rows", "me"],
        "properties": {
            "days": {"type": "integer", "enum": [30, 7, 0]},
            "rows": {"type": "array", "items": _ref("Row")},
            "me": {
                "description": (
                    "The viewer's own row, wherever it ranks; null when anonymous, hidden, "
                    "an admin, or without solves in the window."
                ),
                "oneOf": [_ref("Row"), {"type": "null"}],
            },
        },
    },
    "Challenge": {
        "type": "object",
        "required": ["id", "number", "title", "summary", "run", "solved", "solved_at", "solves"],
        "properties": {
            "id": {"type": "string"},
            "number": {"type": "integer"},
            "title": {"type": "string"},
            "summary": {"type": "string"},
            "run": {"type": "string", "description": "The command that starts it."},
            "solved": {"type": "boolean"},
            "solved_at": {"type": ["string", "null"], "format": "date-time"},
            "solves": {"type": "integer", "description": "Ranked hackers who solved it."},
        },
    },
    "Submission": {
        "type": "object",
        "required": ["flag"],
        "properties": {
            "flag": {"type": "string"},
            "challenge": {
                "type": ["string", "null"],
                "description": "The challenge it is meant for; omit to take the flag's own.",
            },
        },
    },
    "Verdict": {
        "type": "object",
        "required": ["correct", "verdict", "challenge", "message"],
        "properties": {
            "correct": {"type": "boolean"},
            "verdict": {
                "type": "string",
                "enum": [verdict.value for verdict in CHECKED],
            },
            "challenge": {"type": ["string", "null"]},
            "message": {"type": "string"},
        },
    },
    "Me": {
        "type": "object",
        "required": ["account", "csrf_token"],
        "properties": {
            "account": {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["name", "admin", "hidden"],
                        "properties": {
                            "name": {"type": "string"},
                            "admin": {"type": "boolean"},
                            "hidden": {"type": "boolean"},
                        },
                    },
                    {"type": "null"},
                ]
            },
            "csrf_token": {
                "type": "string",
                "description": "Send it back in the X-CSRF-Token header of every POST.",
            },
        },
    },
    "Hacker": {
        "type": "object",
        "required": ["hacker", "admin", "hidden", "badges", "solves", "standings"],
        "properties": {
            "hacker": {"type": "string"},
            "admin": {"type": "boolean"},
            "hidden": {"type": "boolean"},
            "badges": {"type": "array", "items": _ref("Award")},
            "solves": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "challenge": {"type": "string"},
                        "solved_at": {"type": "string", "format": "date-time"},
                    },
                },
            },
            "standings": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "days": {"type": "integer"},
                        "rank": {"type": ["integer", "null"]},
                        "score": {"type": "integer"},
                    },
                },
            },
        },
    },
}


@cache
def document() -> dict[str, Any]:
    from sockdojo.web import class_openapi  # it builds on the helpers above

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "sockdojo web dojo API",
            "version": __version__,
            "description": (
                "Read the module, its challenges and its scoreboard; submit flags. Requests "
                "act as the account signed in by the session cookie; POSTs must also carry "
                "the session's CSRF token (GET /api/v1/me) in the X-CSRF-Token header. "
                "Or as the account of an API token (Authorization: Bearer), which needs no "
                "CSRF token and never opens admin API."
            ),
        },
        "components": {
            "schemas": {**_SCHEMAS, **class_openapi.SCHEMAS},
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "sockdojo_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
        "paths": {
            "/api/v1/openapi.json": {
                "get": {
                    "summary": "This description",
                    "responses": {"200": _ok({"type": "object"})},
                }
            },
            "/api/v1/me": {
                "get": {
                    "summary": "The signed-in account (or null) and the session's CSRF token",
                    "responses": {"200": _ok(_ref("Me"))},
                }
            },
            "/api/v1/modules": {
                "get": {
                    "summary": "The dojo's modules",
                    "responses": {
                        "200": _ok(
                            {
                                "type": "object",
                                "properties": {
                                    "modules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "properties": {
                                                "id": {"type": "string"},
                                                "title": {"type": "string"},
                                                "challenges": {"type": "integer"},
                                                "solved": {"type": "integer"},
                                            },
                                        },
                                    }
                                },
                            }
                        )
                    },
                }
            },
            "/api/v1/modules/{module}/challenges": {
                "get": {
                    "summary": "The module's challenges, with the viewer's solved state",
                    "parameters": [_MODULE],
                    "responses": {
                        "200": _ok(
                            {
                                "type": "object",
                                "properties": {
                                    "challenges": {"type": "array", "items": _ref("Challenge")}
                                },
                            }
                        ),
                        "404": _error("No such module"),
                    },
                }
            },
            "/api/v1/modules/{module}/scoreboard": {
                "get": {
                    "summary": "The module's scoreboard over a window",
                    "description": (
                        "Score: the module's challenges solved within the last `days` days "
                        "(0: all time) and since the module's launch. Ranks are unique: "
                        "score, then who reached it first, then account id. Hidden and admin "
                        "accounts are left out."
                    ),
                    "parameters": [
                        _MODULE,
                        {
                            "name": "days",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "enum": [30, 7, 0], "default": 30},
                        },
                    ],
                    "responses": {
                        "200": _ok(_ref("Scoreboard")),
                        "400": _error("days is not 30, 7 or 0"),
                        "404": _error("No such module"),
                    },
                }
            },
            "/api/v1/modules/{module}/submissions": {
                "post": {
                    "summary": "Submit a flag",
                    "security": [{"session": [], "csrf": []}],
                    "parameters": [_MODULE],
                    "requestBody": {
                        "required": True,
                        "content": {_JSON: {"schema": _ref("Submission")}},
                    },
                    "responses": {
                        "200": _ok(_ref("Verdict"), "Checked and stored (right or wrong)"),
                        "400": _error("Not a valid submission"),
                        "401": _error("Not signed in"),
                        "403": _error("Missing or wrong CSRF token"),
                        "404": _error("No such module"),
                        "413": _error("Body too large"),
                        "415": _error("Body is not JSON"),
                        "429": {
                            "description": "Too many wrong flags in the last minute",
                            "headers": {
                                "Retry-After": {
                                    "description": "Seconds to wait",
                                    "schema": {"type": "integer"},
                                }
                            },
                            "content": {_JSON: {"schema": _ref("Error")}},
                        },
                    },
                }
            },
            "/api/v1/hackers/{name}": {
                "get": {
                    "summary": "A hacker's badges, solves and standings",
                    "parameters": [
                        {
                            "name": "name",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": _ok(_ref("Hacker")),
                        "404": _error("No such hacker (or hidden)"),
                    },
                }
            },
            **class_openapi.paths(),
        },
    }
