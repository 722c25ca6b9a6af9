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

from fastapi import Depends, Header, Request, Response, status
from fastapi.routing import APIRoute
from pydantic import BaseModel

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
IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        max_length=MAX_CONDITION_LENGTH,
        description="The tags (`ETag`) of copies you hold: 304, without a body, if one is current",
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


async def _if_none_match(if_none_match: IfNoneMatch = None) -> None:
    """Declares (and bounds) the header of a tagged GET; `TaggedRoute` answers it."""


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
        if self.tagged and "GET" in (options.get("methods") or ()):
            given = options.get("dependencies") or ()
            options["dependencies"] = [*given, Depends(_if_none_match)]
        super().__init__(path, endpoint, **options)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        if not self.tagged:
            return handle

        async def handle_tagged(request: Request) -> Response:
            response = await handle(request)
            if response.status_code not in self.tagged:
                return response
            tag = _tag_of_json(bytes(response.body))
            given = request.headers.get("If-None-Match") if request.method == "GET" else None
            if given is not None and matches(given, tag, weak=True):
                return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": tag})
            response.headers["ETag"] = tag
            return response

        return handle_tagged
