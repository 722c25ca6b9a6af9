"""Changing an entity gen wrote: what is merged, what is refused, what destroy leaves.

These run gen in-process on copies of one rendered project; the slow tests of living slices
(tests/test_living.py) run the changed projects' own checks and migrate databases.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from fastapi_slices.cli import app
from tests.support import refused, render, state

runner = CliRunner()
AUTHOR = ["Author", "name:str:max=120:unique", "bio:text?", "--owned"]
BOOK = [
    "Book",
    "title:str:max=200:index",
    "status:enum=draft,published",
    "author:ref=Author",
    "--owned",
]
GIT = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("changes") / "rendered")


@pytest.fixture
def project(rendered: Path, tmp_path: Path) -> Path:
    """The default project with Author and Book."""
    project = Path(shutil.copytree(rendered, tmp_path / "project"))
    for entity in (AUTHOR, BOOK):
        assert gen(project, "entity", *entity)[0] == 0
    return project


def gen(project: Path, *arguments: str) -> tuple[int, str]:
    result = runner.invoke(app, [*arguments, "--project", str(project)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def verbs(output: str) -> dict[str, str]:
    """What gen did to each file, by path."""
    return {match[2]: match[1] for match in re.finditer(r"^\s+(\w+)  (\S+)", output, re.MULTILINE)}


def git(project: Path, *arguments: str) -> None:
    subprocess.run([*GIT, *arguments], cwd=project, check=True, capture_output=True)


def commit(project: Path) -> None:
    if not (project / ".git").exists():
        git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "work")


# Refused changes: one line naming what to do, exit 2, nothing written ----------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["field", "add", "Author", "name:text"], "has a field 'name' already"),
        (["entity", "Author", "name:int", "bio:text?", "--owned"], "str cannot become int"),
        (["entity", "Author", "name:str:max=120:unique", "bio:text?"], "--owned cannot change"),
        (
            [
                "entity",
                "Author",
                "name:str:max=120:unique",
                "bio:text?",
                "--owned",
                "--plural",
                "writers",
            ],
            "--plural cannot change",
        ),
        (
            [
                "entity",
                "Book",
                "title:str:max=200:index",
                "status:enum=draft,published",
                "author:ref=Item",
                "--owned",
            ],
            "cannot change its target",
        ),
        (["field", "add", "Author", "born:date"], "--backfill born=VALUE"),
        (
            ["field", "add", "Author", "born:date", "--backfill", "born=someday"],
            "'someday' is not a valid date",
        ),
        (
            ["field", "add", "Author", "born:date?", "--backfill", "died=2000-01-01"],
            "died is not a field that changes",
        ),
        (
            ["field", "add", "Author", "born:date?", "--backfill", "born"],
            "write it as --backfill NAME=VALUE",
        ),
        (["field", "rename", "Author", "name", "bio"], "'bio' clashes with"),
        (["field", "rename", "Author", "nope", "other"], "has no field 'nope'"),
        (["field", "rename", "Author", "name", "Bad-Name"], "snake_case"),
        (["field", "remove", "Author", "nope"], "has no field 'nope'"),
        (["field", "remove", "Nobody", "name"], "no entity 'Nobody'"),
        # A choice that rows may hold goes: they need a value.
        (
            [
                "entity",
                "Book",
                "title:str:max=200:index",
                "status:enum=published",
                "author:ref=Author",
                "--owned",
            ],
            "--backfill status=VALUE",
        ),
        # Optional -> required, with nothing for the rows that hold NULL.
        (
            ["entity", "Author", "name:str:max=120:unique", "bio:text", "--owned"],
            "--backfill bio=VALUE",
        ),
        (
            ["entity", "Author", "writer:str", "bio:text?", "--rename", "name=author", "--owned"],
            "the new fields have no 'author'",
        ),
    ],
)
def test_changes_that_cannot_keep_the_data_are_refused(
    project: Path, arguments: list[str], message: str
) -> None:
    assert message in refused(project, *arguments)


def test_a_change_of_an_entity_of_an_older_gen_asks_for_an_update(project: Path) -> None:
    spec = project / ".gen" / "entities" / "author.json"
    old = json.loads(spec.read_text())
    for key in ("changes", "generator"):
        del old[key]
    spec.write_text(json.dumps(old | {"version": 1}))
    assert "run `gen update`" in refused(project, "field", "add", "Author", "born:date?")


# Merges -------------------------------------------------------------------------------------


def test_a_change_keeps_edits_elsewhere_in_the_file(project: Path) -> None:
    model = project / "app" / "models" / "author.py"
    model.write_text(model.read_text() + "\n    # Authors sign their books.\n")
    code, output = gen(project, "field", "add", "Author", "born:date?")
    assert code == 0, output
    assert verbs(output)["app/models/author.py"] == "merge"
    text = model.read_text()
    assert "born: Mapped[date | None]" in text
    assert text.endswith("    # Authors sign their books.\n")
    base = (project / ".gen" / "base" / "author" / "model.py").read_text()
    assert "born" in base
    assert "sign" not in base  # the base is what gen wrote, not what you did


def test_an_overlapping_edit_gets_conflict_markers_and_exit_1(project: Path) -> None:
    schema = project / "app" / "schemas" / "author.py"
    schema.write_text(schema.read_text().replace("    name: AuthorName\n", "    name: str\n", 1))
    code, output = gen(project, "field", "rename", "Author", "name", "full_name")
    assert code == 1, output
    assert "your edits overlap gen's in app/schemas/author.py" in output
    assert verbs(output)["app/schemas/author.py"] == "unmerged"
    text = schema.read_text()
    conflict = "<<<<<<< before gen\n    name: str\n=======\n    full_name: AuthorFullName\n"
    assert conflict + ">>>>>>> after gen" in text
    # Every other file is merged, and the migration written.
    assert "full_name: Mapped[str]" in (project / "app" / "models" / "author.py").read_text()
    assert list((project / "alembic" / "versions").glob("*_rename_name_to_full_name_in_authors.py"))
    assert '"full_name:str' in (project / ".gen" / "entities" / "author.json").read_text()


def test_the_dry_run_of_a_change_shows_the_migration_and_writes_nothing(project: Path) -> None:
    before = state(project)
    code, output = gen(project, "field", "add", "Book", "pages:int?", "--dry-run")
    assert code == 0, output
    assert state(project) == before
    assert '+        batch.add_column(sa.Column("pages", sa.Integer(), nullable=True))' in output
    assert "+    pages: Mapped[int | None]" in output


def test_a_file_you_removed_stays_removed(project: Path) -> None:
    (project / "tests" / "api" / "v1" / "test_authors_import.py").unlink()
    code, output = gen(project, "field", "add", "Author", "born:date?")
    assert code == 0, output
    assert "skip  tests/api/v1/test_authors_import.py  (you removed it;" in output
    assert not (project / "tests" / "api" / "v1" / "test_authors_import.py").exists()


def test_backfill_fills_a_new_required_field(project: Path) -> None:
    code, output = gen(
        project, "field", "add", "Author", "country:str:max=2", "--backfill", "country=NL"
    )
    assert code == 0, output
    migration = next((project / "alembic" / "versions").glob("*_add_country_to_authors.py"))
    text = migration.read_text()
    assert '.values(country="NL")' in text
    assert (
        'batch.alter_column("country", existing_type=sa.String(length=2), nullable=False)' in text
    )


def test_a_renamed_column_keeps_its_data_and_its_index(project: Path) -> None:
    code, output = gen(project, "field", "rename", "Book", "title", "heading")
    assert code == 0, output
    migration = next(
        (project / "alembic" / "versions").glob("*_rename_title_to_heading_in_books.py")
    )
    text = migration.read_text()
    assert (
        'batch.alter_column(\n            "title",\n            new_column_name="heading"' in text
    )
    assert 'batch.create_index("ix_books_heading", ["heading"], unique=False)' in text
    assert "drop_column" not in text


# Destroy ------------------------------------------------------------------------------------


def test_destroy_deletes_migrations_no_database_can_have_run(project: Path) -> None:
    before = {p.name for p in (project / "alembic" / "versions").iterdir()}
    code, output = gen(project, "field", "add", "Book", "pages:int?")
    assert code == 0, output
    code, output = gen(project, "destroy", "Book")
    assert code == 0, output
    after = {p.name for p in (project / "alembic" / "versions").iterdir()}
    assert not [name for name in after - before if "pages" in name or "books" in name]
    assert not (project / ".gen" / "base" / "book").exists()


def test_destroy_in_the_middle_of_the_history_drops_the_table(project: Path) -> None:
    commit(project)  # the migrations may have reached a database
    code, output = gen(project, "entity", "Shelf", "label:str")
    assert code == 0, output
    code, output = gen(project, "destroy", "Book")
    assert code == 0, output
    assert "drops books: its history is committed" in output
    drop = next((project / "alembic" / "versions").glob("*_drop_books_table.py"))
    text = drop.read_text()
    assert 'op.drop_table("books")' in text
    assert 'op.create_table(\n        "books",' in text  # the downgrade brings it back
    assert list((project / "alembic" / "versions").glob("*_create_books_table.py"))
    code, output = gen(project, "check")
    assert code == 0, output


def test_destroy_refuses_while_another_entity_refers_to_it(project: Path) -> None:
    assert "Book refers to Author; destroy it first" in refused(project, "destroy", "Author")


def test_the_starter_can_be_destroyed(project: Path) -> None:
    commit(project)
    code, output = gen(project, "destroy", "Item")
    assert code == 0, output
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["starter_entity"] is False  # no update renders it again
    assert not (project / "app" / "models" / "item.py").exists()
    assert list((project / "alembic" / "versions").glob("*_drop_items_table.py"))
    assert "items" not in (project / "app" / "api" / "v1" / "registry.py").read_text()


CHANGED_FIELDS = st.lists(
    st.sampled_from(
        [
            "name:str:max=120:unique",
            "name:str:max=60",
            "name:text",
            "name:email?",
            "name:int",
            "bio:text?",
            "bio:text",
            "bio:str?:max=10",
            "born:date?",
            "born:datetime",
            "rank:enum=a,b:default=a",
            "rank:enum=b",
            "rank:int?:min=0",
            "score:decimal=8.3?",
            "score:float",
            "book:ref=Item?",
        ]
    ),
    max_size=4,
    unique_by=lambda token: token.partition(":")[0],
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fields=CHANGED_FIELDS, renamed=st.booleans())
def test_any_change_is_planned_or_refused_in_one_line(
    project: Path, fields: list[str], renamed: bool
) -> None:
    """Whatever the new spec, gen plans it (exit 0) or refuses it (exit 2, one line)."""
    options = ["--rename", f"name={fields[0].partition(':')[0]}"] if renamed and fields else []
    result = runner.invoke(
        app,
        ["entity", "Author", *fields, "--owned", *options, "--dry-run", "--project", str(project)],
    )
    assert isinstance(result.exception, SystemExit | None), result.exception
    assert result.exit_code in {0, 2}, result.output
    if result.exit_code == 2:
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_gen_says_when_the_project_is_of_an_older_release(project: Path) -> None:
    answers = project / ".copier-answers.yml"
    answers.write_text(re.sub(r"(?m)^_commit: .*$", "_commit: v0.2.0", answers.read_text()))
    code, output = gen(project, "field", "add", "Author", "born:date?")
    assert code == 0, output
    assert "template files are of fastapi-slices 0.2.0" in output
    assert "`gen update` brings them" in output


def test_check_finds_a_commit_the_template_source_lacks(project: Path) -> None:
    assert gen(project, "check")[0] == 0
    answers = project / ".copier-answers.yml"
    answers.write_text(re.sub(r"(?m)^_commit: .*$", "_commit: 0123abc", answers.read_text()))
    code, output = gen(project, "check")
    assert code == 1
    assert "_commit 0123abc is no commit of" in output
