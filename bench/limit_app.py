"""The practical limit of the stack: the benchmark's four item operations, written by hand.

A minimal FastAPI app on raw asyncpg SQL, serving the rendered project's `items` table. It
does the same work per request as the generated service (decode the bearer JWT, look the user
up, run the query, answer the same JSON) without layers, ORM or middleware. The benchmark
reports the generated service's figures as ratios of this app's.

It runs in the rendered projects' environment: `uvicorn limit_app:app --app-dir bench`, with
DATABASE_URL (postgresql://...) and SECRET_KEY set as for the service.
"""

import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, Literal

import asyncpg
import jwt
from fastapi import FastAPI, Header, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_json

COLUMNS = "id, name, description, price, quantity, is_active, owner_id, created_at, updated_at"
ORDERS = {
    "id": "id",
    "-id": "id DESC",
    "name": "name, id",
    "-name": "name DESC, id DESC",
    "created_at": "created_at, id",
    "-created_at": "created_at DESC, id DESC",
}
SECRET_KEY = os.environ["SECRET_KEY"]
ItemId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class ItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    description: str | None = None
    price: Decimal = Field(ge=0, max_digits=10, decimal_places=2)
    quantity: int = Field(default=0, ge=0, le=2**31 - 1)
    is_active: bool = True


class ItemUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = None
    price: Decimal | None = Field(default=None, ge=0, max_digits=10, decimal_places=2)
    quantity: int | None = Field(default=None, ge=0, le=2**31 - 1)
    is_active: bool | None = None


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # As many connections as each of the service's two pools: up to 20, kept once opened.
    async with asyncpg.create_pool(
        os.environ["DATABASE_URL"], min_size=1, max_size=20
    ) as app.state.pool:
        yield


app = FastAPI(lifespan=lifespan)


def json(content: Any, status_code: int = 200) -> Response:
    return Response(to_json(content), status_code, media_type="application/json")


def item(row: asyncpg.Record) -> dict[str, Any]:
    """An item as the service answers it: its price a JSON number."""
    return dict(row) | {"price": float(row["price"])}


@lru_cache(maxsize=4096)
def verified_claims(token: str) -> dict[str, Any]:
    """The claims of a token this key signed, its signature checked once per token, as the
    service does (the check costs more than the rest of the authentication); its expiry is
    the caller's to check, on every use. A refused token raises, and is not kept."""
    claims: dict[str, Any] = jwt.decode(
        token,
        SECRET_KEY,
        algorithms=["HS256"],
        options={"require": ["sub", "exp", "type"], "verify_exp": False},
    )
    return claims


async def current_user(connection: asyncpg.Connection, authorization: str | None) -> asyncpg.Record:
    """The active user the bearer token names; 401 otherwise."""
    scheme, _, token = (authorization or "").partition(" ")
    try:
        claims = verified_claims(token)
    except jwt.InvalidTokenError:
        claims = None
    if (
        scheme.lower() != "bearer"
        or claims is None
        or claims["type"] != "access"
        or claims["exp"] <= time.time()
    ):
        raise HTTPException(401, headers={"WWW-Authenticate": "Bearer"})
    user = await connection.fetchrow(
        "SELECT id, is_active, is_superuser FROM users WHERE id = $1", int(claims["sub"])
    )
    if user is None or not user["is_active"]:
        raise HTTPException(401, headers={"WWW-Authenticate": "Bearer"})
    return user


def scoped(conditions: list[str], arguments: list[Any], user: asyncpg.Record) -> str:
    """A WHERE clause of `conditions`, narrowed to the user's own rows unless a superuser."""
    if not user["is_superuser"]:
        arguments.append(user["id"])
        conditions = [*conditions, f"owner_id = ${len(arguments)}"]
    return " AND ".join(conditions) or "TRUE"


@app.get("/api/v1/items/{item_id}")
async def read_item(
    request: Request, item_id: ItemId, authorization: Annotated[str | None, Header()] = None
) -> Response:
    async with request.app.state.pool.acquire() as connection:
        user = await current_user(connection, authorization)
        arguments: list[Any] = [item_id]
        where = scoped(["id = $1"], arguments, user)
        row = await connection.fetchrow(f"SELECT {COLUMNS} FROM items WHERE {where}", *arguments)
    if row is None:
        raise HTTPException(404)
    return json(item(row))


@app.get("/api/v1/items")
async def list_items(  # noqa: PLR0917 - FastAPI takes query parameters as parameters
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    sort: Literal["id", "-id", "name", "-name", "created_at", "-created_at"] = "-created_at",
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    name: str | None = None,
    is_active: bool | None = None,
) -> Response:
    async with request.app.state.pool.acquire() as connection:
        user = await current_user(connection, authorization)
        conditions: list[str] = []
        arguments: list[Any] = []
        for column, value in (("name", name), ("is_active", is_active)):
            if value is not None:
                arguments.append(value)
                conditions.append(f"{column} = ${len(arguments)}")
        where = scoped(conditions, arguments, user)
        total = await connection.fetchval(f"SELECT count(*) FROM items WHERE {where}", *arguments)
        rows = await connection.fetch(
            f"SELECT {COLUMNS} FROM items WHERE {where} ORDER BY {ORDERS[sort]}"
            f" LIMIT {limit} OFFSET {offset}",
            *arguments,
        )
    items = [item(row) for row in rows]
    return json({"items": items, "total": total, "limit": limit, "offset": offset})


@app.post("/api/v1/items", status_code=201)
async def create_item(
    request: Request, data: ItemCreate, authorization: Annotated[str | None, Header()] = None
) -> Response:
    async with request.app.state.pool.acquire() as connection:
        user = await current_user(connection, authorization)
        try:
            row = await connection.fetchrow(
                "INSERT INTO items (name, description, price, quantity, is_active, owner_id,"
                " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, now(), now())"
                f" RETURNING {COLUMNS}",
                data.name,
                data.description,
                data.price,
                data.quantity,
                data.is_active,
                user["id"],
            )
        except asyncpg.UniqueViolationError:
            raise HTTPException(409) from None
    return json(item(row), 201)


@app.patch("/api/v1/items/{item_id}")
async def update_item(
    request: Request,
    item_id: ItemId,
    data: ItemUpdate,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    values = data.model_dump(exclude_unset=True)
    async with request.app.state.pool.acquire() as connection:
        user = await current_user(connection, authorization)
        arguments: list[Any] = [item_id, *values.values()]
        changes = [f"{column} = ${number}" for number, column in enumerate(values, start=2)]
        where = scoped(["id = $1"], arguments, user)
        try:
            row = await connection.fetchrow(
                f"UPDATE items SET {', '.join([*changes, 'updated_at = now()'])}"
                f" WHERE {where} RETURNING {COLUMNS}",
                *arguments,
            )
        except asyncpg.UniqueViolationError:
            raise HTTPException(409) from None
    if row is None:
        raise HTTPException(404)
    return json(item(row))
