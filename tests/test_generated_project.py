"""Projects grown with `gen entity` pass their own checks, on SQLite and on PostgreSQL.

The entities cover every field type and modifier, every list filter of every type (Book: each
type's `filter`; Genre: an indexed datetime; Magazine: a decimal without decimals), a chain of
references (Review -> Book -> Author), references to users and to the entity itself (trees),
many-to-many links, each rule of deleting what a reference names, owned rows, shared rows that
superusers write (Genre) or every user (Review), and a project without users.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ProjectChecks, render

ENTITIES = {
    "with-users": [
        [
            "Author",
            "name:str:max=120:unique",
            "bio:text?",
            "email:email:unique",
            "website:url?",
            "--owned",
        ],
        # Rows every user reads, not owned, and not referring to owned rows; a tree: each genre
        # may have a parent genre.
        [
            "Genre",
            "name:str:max=60:unique",
            "blurb:text?",
            "launched_at:datetime?:index",
            "parent:ref=Genre?",
        ],
        [
            "Book",
            "title:str:max=200:index",
            "isbn:str:min=10:max=13:unique",
            "price:decimal=10.2:min=0:max=9999:filter",
            "published_on:date?:filter",
            "status:enum=draft,published,archived:default=draft",
            "author:ref=Author",
            "notes:text?:max=2000:filter",
            "stock:int:min=0:default=0:sort",
            "cover_url:url?:filter",
            "extra:json?",
            "rating:float?:min=0:max=5:sort:filter",
            "released_at:datetime?:sort:filter",
            "code:uuid:unique",
            "pages:bigint?:filter",
            "featured:bool:default=false",
            # Many-to-many: shared genres (kept while linked), the owner's other authors.
            "genres:refs=Genre",
            "co_authors:refs=Author:ondelete=cascade",
            "--owned",
        ],
        # The longest name gen accepts: every generated line must still fit.
        ["ArchivedWarehouseStock", "label:str:unique", "item:ref=Item", "--owned"],
        [
            "Review",
            # Deleting a book deletes its reviews; deleting a user leaves theirs unsigned.
            "book:ref=Book:ondelete=cascade",
            "reviewer:ref=User?:ondelete=set-null",
            "score:int:min=1:max=5:filter",
            "body:text",
            "--plural",
            "book_reviews",
            "--no-timestamps",
            # Shared rows every user may write (Genre's are written by superusers only).
            "--open-writes",
        ],
        # Names the generated code also gives to locals (`message`, `actor`): rows of this
        # entity are `message_row` there.
        ["Message", "body:text", "reply_to:ref=Message?", "author:ref=Author?", "--owned"],
    ],
    "without-users": [
        ["Publisher", "name:str:unique", "country:str:max=2:min=2:default=NL:index"],
        [
            "Magazine",
            "title:str",
            "publisher:ref=Publisher?",
            "issue:int:unique",
            "previous:ref=Magazine?:ondelete=cascade",
            "sponsors:refs=Publisher:ondelete=cascade",
            "price:decimal=6.0:filter",
            "--table",
            "magazine_rows",
        ],
        # `session` is the tests' fixture too: rows of this entity are `session_row` there.
        ["Session", "title:str", "starts_at:datetime:sort", "publisher:ref=Publisher?"],
    ],
}
ANSWERS = {"with-users": {}, "without-users": {"auth": False, "starter_entity": False}}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session", params=sorted(ENTITIES))
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A rendered project grown by running the `gen` command, as a user would."""
    project = render(tmp_path_factory.mktemp(request.param) / "project", **ANSWERS[request.param])
    gen = Path(sys.executable).parent / "gen"
    for arguments in ENTITIES[request.param]:
        subprocess.run(
            [str(gen), "entity", *arguments], cwd=project, check=True, capture_output=True
        )
    return project


class TestGrownProject(ProjectChecks):
    pass
