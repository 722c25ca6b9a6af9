"""What every schema shares: base classes, pages, and reusable field types."""

from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl, TypeAdapter

ReadT = TypeVar("ReadT", bound="ReadSchema")

_HTTP_URL = TypeAdapter(HttpUrl)


def _http_url(value: str) -> str:
    return str(_HTTP_URL.validate_python(value))


# An http(s) URL, validated and normalised by Pydantic but stored and returned as a string.
HttpUrlStr = Annotated[str, AfterValidator(_http_url), Field(json_schema_extra={"format": "uri"})]


class InputSchema(BaseModel):
    """A request body: unknown keys are refused, so `id` or an owner can never be set."""

    model_config = ConfigDict(extra="forbid")


class ReadSchema(BaseModel):
    """A response body, read from model attributes."""

    model_config = ConfigDict(from_attributes=True)


class PageQuery(BaseModel):
    """Limit and offset of a list endpoint; entity queries add their filters and sort."""

    limit: int = Field(default=50, ge=1, le=100, description="Rows per page")
    offset: int = Field(default=0, ge=0, le=2**31 - 1, description="Rows to skip")


class Page(ReadSchema, Generic[ReadT]):
    """One page of a list, and the number of rows on all pages."""

    items: list[ReadT]
    total: int
    limit: int
    offset: int
