"""A generated client works against a grown project, served by uvicorn over real HTTP.

openapi-python-client, the usual way Python teams get a typed client from an OpenAPI
document, must generate a function for every operation (CSV imports included, as multipart
uploads), and those functions must work: log in, create rows that refer to each other, send
a decimal as a string, upload a CSV file, page through a filtered list, change a row
(conditionally, with the ETag read before) and delete it.
"""

import importlib
import json
import pkgutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.support import Toolbox, render

pytestmark = pytest.mark.slow

PASSWORD = "a password for the client test"
GEN = Path(sys.executable).parent / "gen"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"
ENTITIES = [
    ["Author", "name:str:max=120:unique", "--owned"],
    [
        "Book",
        "title:str:max=200:index",
        "price:decimal=10.2:min=0",
        "published_on:date?",
        "author:ref=Author",
        "--owned",
    ],
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def served(toolbox: Toolbox, tmp_path: Path) -> Iterator[str]:
    """A grown project, migrated, served on a SQLite file; its base URL."""
    project = render(tmp_path / "shop")
    for arguments in ENTITIES:
        subprocess.run(
            [str(GEN), "entity", *arguments], cwd=project, check=True, capture_output=True
        )
    database = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    toolbox.run(project, "alembic", "upgrade", "head", DATABASE_URL=database)
    port = _free_port()
    log = tmp_path / "server.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [str(toolbox.bin / "uvicorn"), "app.main:app", "--port", str(port), "--no-access-log"],
            cwd=project,
            env=toolbox.env(DATABASE_URL=database),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(base + "/health/ready"):
            assert server.poll() is None, f"the server exited: {log.read_text()}"
            assert time.monotonic() < deadline, "the server did not answer in 60 s"
            time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _generate(base: str, folder: Path) -> tuple[ModuleType, str]:
    """The client package of `base`'s document, imported; and what the generator printed."""
    result = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--url",
            f"{base}/openapi.json",
            "--meta",
            "none",
            "--output-path",
            str(folder / "shop_client"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    return importlib.import_module("shop_client"), result.stdout + result.stderr


def _operation(client: ModuleType, tag: str, operation_id: str) -> Any:
    return importlib.import_module(f"{client.__name__}.api.{tag}.{operation_id}")


def test_the_generated_client_covers_and_calls_every_kind_of_operation(
    served: str, tmp_path: Path
) -> None:
    document = httpx.get(f"{served}/openapi.json").json()
    client_package, printed = _generate(served, tmp_path)
    try:
        # A function for every operation: what the generator skips, it does not write.
        written = {
            name.replace("_", "")
            for tag in pkgutil.iter_modules(importlib.import_module("shop_client.api").__path__)
            for name in (
                module.name
                for module in pkgutil.iter_modules(
                    importlib.import_module(f"shop_client.api.{tag.name}").__path__
                )
            )
        }
        operations = {
            operation["operationId"].replace("_", "")
            for path in document["paths"].values()
            for operation in path.values()
        }
        assert operations <= written, (operations - written, printed)
        _use(client_package, served)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.startswith("shop_client")]:
            del sys.modules[name]


def _use(package: ModuleType, base: str) -> None:
    with (
        package.Client(base_url=base, raise_on_unexpected_status=True) as anonymous,
        package.AuthenticatedClient(
            base_url=base, token=_log_in(package, anonymous), raise_on_unexpected_status=True
        ) as client,
    ):
        _call(package, client)


def _log_in(package: ModuleType, anonymous: Any) -> str:
    models = importlib.import_module("shop_client.models")
    register = _operation(package, "auth", "register_api_v1_auth_register_post")
    login = _operation(package, "auth", "login_api_v1_auth_login_post")
    created = register.sync_detailed(
        client=anonymous, body=models.UserRegister(email="reader@example.com", password=PASSWORD)
    )
    assert created.status_code == 201, created.content
    tokens = login.sync(
        client=anonymous,
        body=models.BodyLoginApiV1AuthLoginPost(username="reader@example.com", password=PASSWORD),
    )
    token: str = tokens.access_token
    return token


def _call(package: ModuleType, client: Any) -> None:
    models = importlib.import_module("shop_client.models")
    types = importlib.import_module("shop_client.types")
    author = _operation(package, "authors", "create_author_api_v1_authors_post").sync(
        client=client, body=models.AuthorCreate(name="Ursula K. Le Guin")
    )
    create_book = _operation(package, "books", "create_book_api_v1_books_post")
    book = create_book.sync(
        client=client,
        body=models.BookCreate(title="The Dispossessed", price="12.50", author_id=author.id),
    )
    assert Decimal(str(book.price)) == Decimal("12.50")
    assert book.author_id == author.id

    # A CSV file, as the multipart upload every generated client sends.
    upload = _operation(package, "books", "import_books_api_v1_books_import_post")
    csv = f"title,price,author_id\nThe Lathe of Heaven,9.99,{author.id}\nFree,-1,{author.id}\n"
    report = upload.sync(
        client=client,
        body=models.ImportBooksApiV1BooksImportPostFilesBody(
            file=types.File(
                payload=BytesIO(csv.encode()), file_name="books.csv", mime_type="text/csv"
            )
        ),
    )
    assert (report.rows, report.imported, report.rejected) == (2, 1, 1), report

    listed = _operation(package, "books", "list_books_api_v1_books_get").sync(
        client=client, author_id=[author.id], limit=1
    )
    assert listed.total == 2
    assert len(listed.items) == 1

    read = _operation(package, "books", "read_book_api_v1_books_book_id_get")
    detailed = read.sync_detailed(client=client, book_id=book.id)
    etag = detailed.headers["etag"]
    update = _operation(package, "books", "update_book_api_v1_books_book_id_patch")
    changed = update.sync_detailed(
        client=client, book_id=book.id, body=models.BookUpdate(title="Anarres"), if_match=etag
    )
    assert changed.status_code == 200, changed.content
    stale = update.sync_detailed(
        client=client, book_id=book.id, body=models.BookUpdate(title="Urras"), if_match=etag
    )
    assert stale.status_code == 412, stale.content
    assert json.loads(read.sync_detailed(client=client, book_id=book.id).content)["title"] == (
        "Anarres"
    )

    delete = _operation(package, "books", "delete_book_api_v1_books_book_id_delete")
    assert delete.sync_detailed(client=client, book_id=book.id).status_code == 204
