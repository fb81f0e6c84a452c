"""How an API route is declared and how it answers.

An `ApiRoute` is a Starlette route that also says what it takes (parameters, a request body
shape) and what it answers (a shape per status); `openapi.py` builds the OpenAPI document
from the route table alone. The endpoint's docstring is the operation's summary (first line)
and description (the rest). Every API answer, errors included, goes through `answer`: one
encoder (msgspec's) for every shape in `sockdojo.api_shapes`.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sockdojo.api_shapes import Error, Shape
from sockdojo.challenges import registry

PREFIX = "/api/v1"
# Everything under it answers in the API's shapes, errors and refusals too (`Error`).
API_ROOT = "/api/"


def is_api_path(path: str) -> bool:
    return path.startswith(API_ROOT)


JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

_encoder = msgspec.json.Encoder()


class ShapedResponse(Response):
    media_type = JSON


def answer(
    shape: Shape | Mapping[str, object],
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """`shape` as the API's JSON (a mapping only for the OpenAPI document itself)."""
    return ShapedResponse(_encoder.encode(shape), status_code=status, headers=headers)


def error_answer(message: str, status: int, headers: Mapping[str, str] | None = None) -> Response:
    return answer(Error(error=message), status, headers)


def encode_error(message: str) -> bytes:
    """The error shape as bytes, for answers written before the app sees the request."""
    return _encoder.encode(Error(error=message))


# Declaring routes

ModuleId = Annotated[str, Meta(extra_json_schema={"enum": [registry.MODULE_ID]})]
RETRY_AFTER = "Retry-After"


@dataclass(frozen=True)
class Reply:
    """One documented answer: its shape (a `Shape` subclass or a type msgspec can describe;
    a tuple for any one of several), what it means, and the headers it always carries."""

    shape: Any
    description: str
    headers: tuple[str, ...] = ()

    @property
    def shapes(self) -> tuple[Any, ...]:
        return self.shape if isinstance(self.shape, tuple) else (self.shape,)


@dataclass(frozen=True)
class Query:
    name: str
    shape: Any
    description: str = ""


@dataclass(frozen=True)
class Body:
    shape: type[Shape]
    media_types: tuple[str, ...] = (JSON,)
    required: bool = True


@dataclass(frozen=True)
class Security:
    """Which OpenAPI security schemes open the route (any one of the sets)."""

    schemes: tuple[tuple[str, ...], ...]


SESSION_AND_CSRF = Security((("session", "csrf"), ("bearer",)))
BEARER = Security((("bearer",),))
SESSION = Security((("session",),))

# What any API route may answer, whatever it is: a refused API token, our failure, the
# database gone. `openapi.py` adds them to every operation.
COMMON_REPLIES: dict[int, Reply] = {
    401: Reply(Error, "The API token sent is unknown, revoked or expired"),
    500: Reply(Error, "Something went wrong on our side"),
    # With a Retry-After header when its database is the cause (not for the connection cap).
    503: Reply(Error, "The dojo cannot reach its database, or is over its connection cap"),
}


@dataclass(frozen=True)
class Operation:
    replies: Mapping[int, Reply]
    path_params: Mapping[str, Any] = field(default_factory=dict)
    query: Sequence[Query] = ()
    body: Body | None = None
    security: Security | None = None


class ApiRoute(Route):
    """A route of the JSON API, with what the OpenAPI document says about it."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[[Request], Awaitable[Response]],
        *,
        method: str = "GET",
        replies: Mapping[int, Reply],
        path_params: Mapping[str, Any] | None = None,
        query: Sequence[Query] = (),
        body: Body | None = None,
        security: Security | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(PREFIX + path, endpoint, methods=[method], name=name)
        self.method = method
        self.operation = Operation(replies, path_params or {}, query, body, security)

    @property
    def summary(self) -> str:
        return self.docstring.partition("\n")[0]

    @property
    def description(self) -> str:
        return inspect.cleandoc(self.docstring.partition("\n")[2])

    @property
    def docstring(self) -> str:
        return inspect.getdoc(self.endpoint) or ""
