"""Every API answer a test gets, checked against the OpenAPI document the dojo serves.

`check` is an httpx response hook: the in-process harness's clients (`web/conftest.py`) carry
it, and so do `Client`, `get` and `post` here, for tests that talk to a real `sockdojo serve`.
An answer under /api/ fails the test when the document declares no such operation, no such
status for it, not its headers, or not its body's shape (the objects the server answers with
are closed: an extra field fails too).
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any, TypedDict, Unpack

import httpx
from jsonschema import Draft202012Validator, ValidationError

from sockdojo.web.app import ROUTES
from sockdojo.web.openapi import document

API = "/api/"
ERROR = {"$ref": "#/components/schemas/Error"}


class ContractBroken(AssertionError):
    """An API answer the document does not declare."""


# The document, and its parts below, are JSON as `openapi.document` gives them (dict[str, Any]).
@cache
def served_document() -> dict[str, Any]:
    return document(ROUTES)


def _pattern(path: str) -> re.Pattern[str]:
    """/api/v1/hackers/{name} as a regular expression: a parameter is one path segment."""
    parts = re.split(r"\{[^}]+\}", path)
    return re.compile("^" + "[^/]+".join(map(re.escape, parts)) + "$")


@cache
def _operations() -> list[tuple[re.Pattern[str], dict[str, Any]]]:
    return [(_pattern(path), operations) for path, operations in served_document()["paths"].items()]


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    # The document's components beside the schema, so that its "#/components/..." refs resolve.
    return Draft202012Validator({**schema, "components": served_document()["components"]})


def expected(method: str, path: str, status: int) -> tuple[dict[str, Any], list[str]]:
    """The schema and headers the document declares for this answer (ContractBroken if none).

    A path the document does not have may only be a 404, a method it does not have there
    only a 405, both in the error shape."""
    found = [operations for pattern, operations in _operations() if pattern.match(path)]
    if not found:
        if status != 404:
            raise ContractBroken(f"{method} {path}: no such path in the document, yet {status}")
        return ERROR, []
    verb = "get" if method == "HEAD" else method.lower()
    operation = next((operations[verb] for operations in found if verb in operations), None)
    if operation is None:
        if status != 405:
            raise ContractBroken(f"{method} {path}: no such operation, yet {status}")
        return ERROR, []
    response = operation["responses"].get(str(status))
    if response is None:
        raise ContractBroken(
            f"{method} {path}: answered {status}, which the document does not declare "
            f"(it declares {', '.join(operation['responses'])})"
        )
    return response["content"]["application/json"]["schema"], list(response.get("headers", {}))


def validate(method: str, path: str, status: int, headers: httpx.Headers, body: bytes) -> None:
    schema, declared_headers = expected(method, path, status)
    missing = [name for name in declared_headers if name not in headers]
    if missing:
        raise ContractBroken(f"{method} {path} {status}: without the headers {missing}")
    if method == "HEAD":
        return
    kind = headers.get("content-type", "").split(";")[0].strip()
    if kind != "application/json":
        raise ContractBroken(f"{method} {path} {status}: answered {kind!r}, not JSON")
    errors = sorted(_validator(schema).iter_errors(json.loads(body)), key=str)
    if errors:
        raise ContractBroken(
            f"{method} {path} {status}: not as the document declares: "
            + "; ".join(_where(error) for error in errors[:5])
        )


def conforms(method: str, path: str, status: int, body: object) -> None:
    """`body` (parsed JSON, from anywhere: the CLI's --json too) is what the document declares
    for that answer of that operation."""
    validate(
        method,
        path,
        status,
        httpx.Headers({"content-type": "application/json"}),
        json.dumps(body).encode(),
    )


def _where(error: ValidationError) -> str:
    return f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"


def check(response: httpx.Response) -> None:
    """The response hook: validate an answer under /api/ against the document."""
    request = response.request
    if not request.url.path.startswith(API):
        return
    response.read()
    validate(
        request.method,
        request.url.path,
        response.status_code,
        response.headers,
        response.content,
    )


class ClientOptions(TypedDict, total=False):
    """The httpx.Client options the tests give."""

    base_url: str
    timeout: float
    cookies: dict[str, str] | None


class GetOptions(TypedDict, total=False):
    """The request options the tests give."""

    timeout: float
    headers: dict[str, str]
    params: dict[str, str | int]


class PostOptions(GetOptions, total=False):
    json: object  # the body, as JSON


def client(**options: Unpack[ClientOptions]) -> httpx.Client:
    """An httpx.Client whose every API answer is checked."""
    return httpx.Client(event_hooks={"response": [check]}, **options)


def get(
    url: str, *, cookies: dict[str, str] | None = None, **options: Unpack[GetOptions]
) -> httpx.Response:
    """httpx.get, checked."""
    with client(cookies=cookies) as checked:
        return checked.get(url, **options)


def post(
    url: str, *, cookies: dict[str, str] | None = None, **options: Unpack[PostOptions]
) -> httpx.Response:
    """httpx.post, checked."""
    with client(cookies=cookies) as checked:
        return checked.post(url, **options)
