"""The API's OpenAPI 3.1 document, built from the app's route table (`api_routes.ApiRoute`:
paths, methods, parameters, bodies, answers) and the shapes in `sockdojo.api_shapes`
(their JSON Schemas, as msgspec derives them)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import msgspec

from sockdojo import __version__
from sockdojo.web.api_routes import COMMON_REPLIES, ApiRoute, Reply

REF = "#/components/schemas/{name}"
DESCRIPTION = (
    "Read the module, its challenges and its scoreboard; submit flags. Requests act as the "
    "account signed in by the session cookie; POSTs must also carry the session's CSRF token "
    "(GET /api/v1/me) in the X-CSRF-Token header. Or as the account of an API token "
    "(Authorization: Bearer), which needs no CSRF token and never opens admin API."
)
SECURITY_SCHEMES = {
    "session": {"type": "apiKey", "in": "cookie", "name": "sockdojo_session"},
    "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
    "bearer": {"type": "http", "scheme": "bearer"},
}
HEADERS = {
    "Retry-After": {
        "description": "Seconds to wait",
        "required": True,
        "schema": {"type": "integer"},
    },
}


def api_routes(routes: Iterable[object]) -> list[ApiRoute]:
    return [route for route in routes if isinstance(route, ApiRoute)]


def document(routes: Iterable[object]) -> dict[str, Any]:
    """The OpenAPI document of the `ApiRoute`s among `routes` (an app's route table)."""
    declared = api_routes(routes)
    shapes = list(_shapes(declared))
    schemas, components = msgspec.json.schema_components(shapes, ref_template=REF)
    schema_of = dict(zip(map(id, shapes), schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    answered: list[Any] = []

    def schema(shape: Any) -> Any:
        if isinstance(shape, tuple):
            return {"anyOf": [schema_of[id(member)] for member in shape]}
        return schema_of[id(shape)]

    for route in declared:
        operation = _operation(route, schema)
        answered.extend(schema(reply.shape) for reply in _replies(route).values())
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    _close(answered, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "sockdojo web dojo API",
            "version": __version__,
            "description": DESCRIPTION,
        },
        "components": {"schemas": components, "securitySchemes": SECURITY_SCHEMES},
        "paths": paths,
    }


def _replies(route: ApiRoute) -> dict[int, Reply]:
    return {**COMMON_REPLIES, **route.operation.replies}


def _shapes(routes: list[ApiRoute]) -> Iterator[Any]:
    for route in routes:
        operation = route.operation
        yield from (shape for _, shape in _path_params(route))
        yield from (query.shape for query in operation.query)
        if operation.body is not None:
            yield operation.body.shape
        for reply in _replies(route).values():
            yield from reply.shapes


def _operation(route: ApiRoute, schema: Any) -> dict[str, Any]:
    declared = route.operation
    operation: dict[str, Any] = {"summary": route.summary}
    if route.description:
        operation["description"] = route.description
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": schema(shape)}
        for name, shape in _path_params(route)
    ] + [
        {"name": query.name, "in": "query", "required": False, "schema": schema(query.shape)}
        | ({"description": query.description} if query.description else {})
        for query in declared.query
    ]
    if parameters:
        operation["parameters"] = parameters
    if declared.security is not None:
        operation["security"] = [
            {scheme: [] for scheme in schemes} for schemes in declared.security.schemes
        ]
    if declared.body is not None:
        operation["requestBody"] = {
            "required": declared.body.required,
            "content": {
                kind: {"schema": schema(declared.body.shape)} for kind in declared.body.media_types
            },
        }
    operation["responses"] = {
        str(status): _response(reply, schema(reply.shape))
        for status, reply in sorted(_replies(route).items())
    }
    return operation


def _path_params(route: ApiRoute) -> Iterator[tuple[str, Any]]:
    """The route's path parameters in path order; each a string unless declared otherwise."""
    for name in route.param_convertors:
        yield name, route.operation.path_params.get(name, str)


def _response(reply: Reply, schema: Any) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": reply.description,
        "content": {"application/json": {"schema": schema}},
    }
    if reply.headers:
        response["headers"] = {name: HEADERS[name] for name in reply.headers}
    return response


def _close(answered: list[Any], components: dict[str, Any]) -> None:
    """Every object the server answers with has exactly its declared fields: a handler that
    sends another fails the tests' check. (Request bodies stay open: extra fields are ignored.)"""
    seen: set[str] = set()
    pending = list(answered)
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                name = ref.rsplit("/", 1)[1]
                if name not in seen:
                    seen.add(name)
                    component = components[name]
                    if component.get("type") == "object" and "properties" in component:
                        component["additionalProperties"] = False
                    pending.append(component)
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
