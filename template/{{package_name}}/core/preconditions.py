"""Optimistic concurrency: entity tags, and the conditional requests that use them (RFC 9110).

An answer of one entity (a read, a create, a change) carries its tag, `ETag`: a digest of
what a read answers, which changes whenever the entity does. A client that changes or deletes
the entity sends the tag it last read as `If-Match`; when the entity changed since, the
request is refused (412) and nothing is written, so that no one overwrites a change they
never saw. Services compare the tags on the row they read for update, locked until their
commit, so that no other write can come between the check and theirs. A reader that sends
`If-None-Match` gets 304, without a body, while its copy is current.
"""

import hashlib
import json
import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Header, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

# Room for a list of some 25 tags; a longer header is refused (422).
MAX_CONDITION_LENGTH = 1000

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=MAX_CONDITION_LENGTH,
        description="Carry out the request only if the entity still has one of these tags "
        "(its `ETag`), or exists (`*`); else 412, and nothing changes",
    ),
]

# An entity-tag in a list (RFC 9110, 8.8.3): a quoted string, `W/` before it if weak.
_ENTITY_TAG = re.compile(r'(W/)?("[^"]*")')


def entity_tag(representation: BaseModel) -> str:
    """The strong tag of an entity, as answers of it carry it: see `_tag_of_json`."""
    return _tag_of_json(representation.model_dump_json())


# What json.loads and json.dumps(sort_keys=True, ensure_ascii=False) would use, made once:
# they look them up, or build them, on every call.
_DECODER = json.JSONDecoder()
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False)


def _tag_of_json(body: str | bytes) -> str:
    """A digest of a JSON answer, its object keys sorted.

    PostgreSQL's JSONB keeps an object's keys in an order of its own: the answer to a write,
    made from what was sent, may list them in another order than later reads do, and it is
    the same entity.
    """
    text = body.decode("utf-8", "surrogatepass") if isinstance(body, bytes) else body
    canonical = _CANONICAL.encode(_DECODER.decode(text))
    return f'"{hashlib.sha256(canonical.encode()).hexdigest()[:32]}"'


def matches(header: str, tag: str, *, weak: bool = False) -> bool:
    """Whether an `If-Match` or `If-None-Match` value names `tag`: it is `*`, or lists it.

    The comparison is strong unless `weak` (If-None-Match): then `W/"x"` names `"x"` too. A
    value that lists no well-formed tag names none.
    """
    if header.strip() == "*":
        return True
    return any(
        quoted == tag and (weak or not prefix) for prefix, quoted in _ENTITY_TAG.findall(header)
    )


def etag_response(status_code: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry of a route whose answer of `status_code` is one entity: the
    route (of a router with `route_class=TaggedRoute`) gives that answer its `ETag`."""
    header = {
        "description": "The entity's tag: send it as `If-Match` to change or delete only this "
        "version, or as `If-None-Match` to read it again only if it changed",
        "schema": {"type": "string"},
    }
    return {status_code: {"headers": {"ETag": header}}}


# `If-None-Match` as the OpenAPI document describes it on tagged GETs; `TaggedRoute` checks
# it, without a dependency of its own: FastAPI solves each dependency of each request.
_IF_NONE_MATCH_PARAMETER = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "The tags (`ETag`) of copies you hold: 304, without a body, if one is current",
    "schema": {"type": "string", "maxLength": MAX_CONDITION_LENGTH},
}
_CONDITION = TypeAdapter(Annotated[str, Field(max_length=MAX_CONDITION_LENGTH)])


def _if_none_match(request: Request) -> str | None:
    """The GET's `If-None-Match`, if sent; a 422 as for any parameter when it is too long."""
    given = request.headers.get("If-None-Match")
    if given is not None:
        try:
            _CONDITION.validate_python(given)
        except ValidationError as error:
            location = ("header", "If-None-Match")
            errors = [{**found, "loc": location} for found in error.errors(include_url=False)]
            raise RequestValidationError(errors) from None
    return given


class TaggedRoute(APIRoute):
    """A route whose answers of one entity carry the entity's tag.

    The answers are those `responses=` gives an `ETag` header (see `etag_response`); the tag
    is a digest of the body, so it is always the tag of what was sent. A GET with tagged
    answers takes `If-None-Match`, and answers 304 while that names the tag.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        responses: dict[int | str, dict[str, Any]] = options.get("responses") or {}
        self.tagged = frozenset(
            int(code) for code, answer in responses.items() if "ETag" in answer.get("headers", {})
        )
        self.conditional = bool(self.tagged) and "GET" in (options.get("methods") or ())
        if self.conditional:
            extra = options.get("openapi_extra") or {}
            parameters = [*extra.get("parameters", ()), _IF_NONE_MATCH_PARAMETER]
            options["openapi_extra"] = extra | {"parameters": parameters}
        super().__init__(path, endpoint, **options)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        if not self.tagged:
            return handle

        async def handle_tagged(request: Request) -> Response:
            given = _if_none_match(request) if self.conditional else None
            response = await handle(request)
            if response.status_code not in self.tagged:
                return response
            tag = _tag_of_json(bytes(response.body))
            if given is not None and matches(given, tag, weak=True):
                return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": tag})
            response.headers["ETag"] = tag
            return response

        return handle_tagged
