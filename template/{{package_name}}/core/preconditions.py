"""Optimistic concurrency: entity tags, and the conditional requests that use them (RFC 9110).

A read of an entity answers its tag (`ETag`), a digest of what the read answers: the tag
changes whenever the entity does. A client that changes or deletes the entity sends the tag
it last read as `If-Match`; when the entity changed since, the request is refused (412) and
nothing is written, so that no one overwrites a change they never saw. Services compare the
tag with the row they read for update (locked until their commit), so no other write can
come between the check and theirs. A reader that sends `If-None-Match` gets 304, without a
body, while its copy is current.
"""

import hashlib
import json
import re
from typing import Annotated, Any

from fastapi import Header, Response, status
from pydantic import BaseModel

# Room for a list of about 25 tags; a longer header is refused (422).
MAX_CONDITION_LENGTH = 1000

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=MAX_CONDITION_LENGTH,
        description="Change only if the entity still has one of these tags (its `ETag`), or "
        "exists (`*`); else 412 and nothing changes",
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

# An entity-tag of a list (RFC 9110, 8.8.3): a quoted string, `W/` before it if weak.
_ENTITY_TAG = re.compile(r'(W/)?("[^"]*")')


def entity_tag(representation: BaseModel) -> str:
    """The strong tag of an entity: a digest of its representation.

    The digest is of the JSON with its keys sorted: PostgreSQL's JSONB keeps an object's keys
    in an order of its own, so the answer to a write, made from what was sent, may list them
    in another order than later reads do, and it is the same entity.
    """
    canonical = json.dumps(
        representation.model_dump(mode="json"), sort_keys=True, ensure_ascii=False
    )
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


def represent(
    schema: type[BaseModel],
    row: object,
    *,
    status_code: int = status.HTTP_200_OK,
    if_none_match: str | None = None,
) -> Response:
    """The JSON answer `schema` makes of `row`, with its `ETag`; 304 without a body when
    `if_none_match` names that tag.

    The body is what FastAPI would send for `response_model=schema`.
    """
    representation = schema.model_validate(row)
    headers = {"ETag": entity_tag(representation)}
    if if_none_match is not None and matches(if_none_match, headers["ETag"], weak=True):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(
        representation.model_dump_json(),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def etag_response(status_code: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry of an answer that carries the entity's `ETag`."""
    header = {
        "description": "The entity's tag: send it as `If-Match` to change or delete only this "
        "version, or as `If-None-Match` to read it again only if it changed",
        "schema": {"type": "string"},
    }
    return {status_code: {"headers": {"ETag": header}}}
