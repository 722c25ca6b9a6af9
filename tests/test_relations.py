"""What gen writes for relations: trees, refs to users, many-to-many links, and the rules of
deleting what they name; and how a change of them migrates.

The generated tests prove the behaviour over HTTP on both databases (test_generated_project.py
grows projects holding each kind); these tests prove the code and migrations gen plans.
"""

import shutil
from pathlib import Path

import pytest

from tests.support import gen, render

VERSIONS = Path("alembic/versions")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = render(tmp_path_factory.mktemp("relations") / "project", starter_entity=False)
    for arguments in (["Tag", "label:str:unique"], ["Book", "title:str", "--owned"]):
        code, output = gen(project, "entity", *arguments)
        assert code == 0, output
    return project


@pytest.fixture
def project(rendered: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(rendered, tmp_path / "project"))


def newest_migration(project: Path) -> str:
    """The migration gen wrote last (names of one minute do not sort by time)."""
    return max(
        (project / VERSIONS).glob("*.py"), key=lambda path: path.stat().st_mtime_ns
    ).read_text()


def test_links_come_go_and_change_their_delete_rule_by_migration(project: Path) -> None:
    book = ["entity", "Book", "title:str", "--owned"]
    code, output = gen(project, *book, "tags:refs=Tag")
    assert code == 0, output
    added = newest_migration(project)
    assert 'op.create_table(\n        "books_tags",' in added
    assert 'sa.PrimaryKeyConstraint("book_id", "tag_id", name=op.f("pk_books_tags"))' in added
    assert 'ondelete="RESTRICT"' in added
    assert 'op.drop_table("books_tags")' in added
    model = (project / "app/models/book.py").read_text()
    assert 'relationship(secondary="books_tags", lazy="raise", order_by=Tag.id)' in model

    assert gen(project, *book, "tags:refs=Tag:ondelete=cascade")[0] == 0
    changed = newest_migration(project)
    assert 'batch.drop_constraint("fk_books_tags_tag_id_tags", type_="foreignkey")' in changed
    assert 'ondelete="CASCADE"' in changed

    code, output = gen(project, "field", "rename", "Book", "tags", "labels")
    assert code == 2
    assert "many-to-many tags cannot be renamed" in output

    assert gen(project, *book)[0] == 0
    removed = newest_migration(project)
    upgrade, downgrade = removed.split("def downgrade")
    assert 'op.drop_table("books_tags")' in upgrade
    assert 'op.create_table(\n        "books_tags",' in downgrade


def test_a_tree_and_a_ref_to_users(project: Path) -> None:
    code, output = gen(
        project,
        "entity",
        "Tag",
        "label:str:unique",
        "parent:ref=Tag?:ondelete=cascade",
        "curator:ref=User?",
    )
    assert code == 0, output
    model = (project / "app/models/tag.py").read_text()
    assert (
        'parent: Mapped["Tag | None"] = relationship(lazy="raise", remote_side="Tag.id")' in model
    )
    assert 'ForeignKey("users.id", ondelete="SET NULL")' in model
    service = (project / "app/services/tag.py").read_text()
    assert "would be its own ancestor through parent" in service
    page = (project / "docs/api/tags.md").read_text()
    assert "deleting its Tag deletes this too" in page
    assert "MY_ID=$(curl -s $BASE/api/v1/users/me" in page
    # Nothing else refers to tags: the tree goes with its table.
    code, output = gen(project, "destroy", "Tag")
    assert code == 0, output
    assert not (project / "app/models/tag.py").exists()


def test_a_ref_to_users_needs_users(tmp_path: Path) -> None:
    project = render(tmp_path / "bare", starter_entity=False, auth=False)
    code, output = gen(project, "entity", "Note", "author:ref=User")
    assert code == 2
    assert "unknown entity 'User' (known: none yet)" in output
