"""The one error shape of the API: RFC 9457 problem details, documented for every route."""

import json
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field
from starlette.types import Send

PROBLEM_MEDIA_TYPE = "application/problem+json"

# What each error status (and 304) means on any route; routes list those they can answer.
STATUS_DESCRIPTIONS = {
    304: "Not modified: `If-None-Match` names the current `ETag`; no body",
    401: "Missing, expired or invalid credentials",
    403: "Authenticated, but not allowed to do this",
    404: "No such resource, or not yours",
    408: "The request body did not arrive in time; send it again",
    409: "Conflicts with the current state, e.g. a duplicate value",
    412: "`If-Match` names none of the current tags: the entity changed since it was read",
    413: "Request body too large",
    415: "The body is of a media type this operation does not take",
    422: "The request is invalid; `errors` says where",
    429: "Too many requests; retry after `Retry-After` seconds",
    503: "A dependency (the database) is unavailable; retry after `Retry-After` seconds",
}


class ProblemField(BaseModel):
    """One invalid part of a request."""

    location: list[str | int] = Field(description="Where: body, query, path, then the keys")
    message: str
    type: str = Field(description="A stable code such as `missing` or `string_too_long`")


class Problem(BaseModel):
    """An error, as `application/problem+json` (RFC 9457)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = Field(default=None, description="The request path")
    request_id: str | None = None
    errors: list[ProblemField] | None = None


def problem_body(
    status: int,
    detail: str | None,
    *,
    instance: str,
    request_id: str | None,
    errors: list[ProblemField] | None = None,
    extensions: dict[str, Any] | None = None,
) -> bytes:
    """The JSON of a problem: the one place every error answer is built.

    `extensions` adds members of the error's own (RFC 9457 allows them). Text that cannot be
    UTF-8 (lone surrogates, e.g. bytes of an upload that were not UTF-8) is shown as U+FFFD,
    so that writing the answer can never fail.
    """
    problem = Problem(
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=instance,
        request_id=request_id,
        errors=errors,
    )
    content = problem.model_dump(mode="json", exclude_none=True) | (extensions or {})
    return json.dumps(_encodable(content), ensure_ascii=False, separators=(",", ":")).encode()


_SURROGATE = re.compile("[\ud800-\udfff]")


def _encodable(node: Any) -> Any:
    if isinstance(node, str):
        return _SURROGATE.sub("\ufffd", node)
    if isinstance(node, dict):
        return {key: _encodable(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_encodable(item) for item in node]
    return node


async def send_problem(
    send: Send, status: int, detail: str, *, instance: str, request_id: str | None
) -> None:
    """Answer with a problem straight from ASGI middleware, where no Response exists yet."""
    body = problem_body(status, detail, instance=instance, request_id=request_id)
    headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route or router that can answer these error statuses."""
    return {status: {"description": STATUS_DESCRIPTIONS[status]} for status in statuses}


def install_problem_openapi(app: FastAPI) -> None:
    """Document every error response (FastAPI's own 422 included) as a Problem, and take
    each operation's summary from its handler's docstring."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(problem.pop("$defs", {}))
        components["Problem"] = problem
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        reference = {"schema": {"$ref": "#/components/schemas/Problem"}}
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                _summary_from_docstring(operation)
                if "application/json" in operation.get("requestBody", {}).get("content", {}):
                    # A JSON body sent as another media type, or as none (see exceptions.py).
                    operation["responses"].setdefault("415", problem_responses(415)[415])
                for status, response in operation.get("responses", {}).items():
                    if status[0] in "45":
                        # A route may document a problem with members of its own (a model
                        # extending Problem); every other error is a plain Problem.
                        given = response.get("content", {}).get("application/json", {})
                        own = given.get("schema", {}).get("$ref", "").endswith("Problem")
                        response["content"] = {PROBLEM_MEDIA_TYPE: given if own else reference}
                        if status == "422":
                            response["description"] = STATUS_DESCRIPTIONS[422]
        _integer_bounds(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


_INT64 = (-(2**63), 2**63 - 1)


def _integer_bounds(node: Any) -> None:
    """Give integer bounds back as integers, in place.

    FastAPI's OpenAPI model holds bounds as floats, and a float rounds a bigint's limits past
    the range of a bigint: the document would allow values the service refuses.
    """
    if isinstance(node, list):
        for item in node:
            _integer_bounds(item)
    elif isinstance(node, dict):
        if node.get("type") == "integer":
            for key in ("minimum", "maximum"):
                if isinstance(node.get(key), float):
                    node[key] = min(max(int(node[key]), _INT64[0]), _INT64[1])
        for value in node.values():
            _integer_bounds(value)


def _summary_from_docstring(operation: dict[str, Any]) -> None:
    """A handler's docstring: first line the summary, the rest (if any) the description."""
    first, _, rest = operation.get("description", "").partition("\n")
    if first:
        operation["summary"] = first.strip()
        operation["description"] = rest.strip()
        if not operation["description"]:
            del operation["description"]
