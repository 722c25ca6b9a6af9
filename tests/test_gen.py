"""`gen entity` and `gen destroy` on rendered projects: plans, safety, one source of truth."""

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from fastapi_slices import __version__
from fastapi_slices import readme as readme_pages
from fastapi_slices.cli import app
from fastapi_slices.project import Project
from fastapi_slices.render import LIVING, SLICE_FILES
from fastapi_slices.slices import entity_plan
from fastapi_slices.spec import EntitySpec
from fastapi_slices.starter import STARTER_FIELDS, STARTER_JINJA, render_starter_jinja
from tests.support import REPO, gen, refused, render, state

runner = CliRunner()
AUTHOR = ["Author", "name:str:max=120:unique", "bio:text?", "--owned"]
BOOK = [
    "Book",
    "title:str:max=200:index",
    "price:decimal=10.2:min=0",
    "author:ref=Author",
    "--owned",
]


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Projects rendered once, copied by each test that changes them."""
    base = tmp_path_factory.mktemp("rendered")
    return {
        "default": render(base / "default"),
        "bare": render(base / "bare", starter_entity=False),
        "bare-no-auth": render(base / "bare-no-auth", starter_entity=False, auth=False),
        "no-auth": render(base / "no-auth", auth=False),
    }


def _copy(source: Path, destination: Path) -> Path:
    shutil.copytree(source, destination)
    return destination


@pytest.fixture
def project(rendered: dict[str, Path], tmp_path: Path) -> Path:
    return _copy(rendered["default"], tmp_path / "project")


def snapshot(folder: Path) -> dict[str, bytes]:
    """The files under `folder`, by path: to compare two trees' contents."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and ".git" not in path.parts
    }


# One source of truth -------------------------------------------------------------------


def test_starter_context_is_current() -> None:
    assert STARTER_JINJA.read_text() == render_starter_jinja(), (
        "run `python -m fastapi_slices.starter` after changing the starter or the context"
    )


def test_template_includes_every_slice_template() -> None:
    wrappers = [
        path.read_text()
        for path in (REPO / "template").rglob("*")
        if path.is_file() and "starter_entity" in str(path)
    ]
    included = {re.search(r"entity/([\w.]+)' -%}", text)[1] for text in wrappers}  # type: ignore[index]
    assert included == set(SLICE_FILES)


def _without_migration_identity(text: str) -> str:
    text = re.sub(r"\b[0-9a-f]{12}\b", "<revision>", text)
    text = re.sub(
        r"2026-11-22 00:0\d:00\+00:00|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00:00", "<date>", text
    )
    return re.sub(r"\d{8}_\d{4}_create", "<stamp>_create", text)


@pytest.mark.parametrize("auth", [True, False])
def test_gen_writes_what_the_template_renders_for_its_starter(
    rendered: dict[str, Path], tmp_path: Path, auth: bool
) -> None:
    template = rendered["default" if auth else "no-auth"]
    project = _copy(rendered["bare" if auth else "bare-no-auth"], tmp_path / "project")
    before = snapshot(project)
    code, output = gen(project, "entity", "Item", *STARTER_FIELDS, *(["--owned"] if auth else []))
    assert code == 0, output
    after = snapshot(project)
    changed = {name for name in after if after[name] != before.get(name)}
    expected = snapshot(template)
    # The slice, gen's copies of its living files, the two registries and the README's list
    # of entity pages (the rest of the README speaks of the starter, or not).
    assert len(changed) == len(SLICE_FILES) + len(LIVING) + 3
    assert _pages(after["README.md"].decode()) == _pages(expected["README.md"].decode())
    for name in changed - {"README.md"}:
        twin = re.sub(r"\d{8}_\d{4}_create", "20261122_0001_create", name)
        assert _without_migration_identity(after[name].decode()) == _without_migration_identity(
            expected[twin].decode()
        ), name


def _pages(readme: str) -> str:
    return readme[readme.index(readme_pages.START) : readme.index(readme_pages.END)]


# The plan -------------------------------------------------------------------------------


def test_entity_reports_every_action(project: Path) -> None:
    code, output = gen(project, "entity", *AUTHOR)
    assert code == 0, output
    assert re.search(r"^\s+create  app/models/author\.py$", output, re.MULTILINE)
    assert re.search(r"^\s+inject  app/api/v1/registry\.py$", output, re.MULTILINE)
    migrations = list((project / "alembic" / "versions").glob("*_create_authors_table.py"))
    assert len(migrations) == 1
    assert re.fullmatch(r"\d{8}_\d{4}_create_authors_table\.py", migrations[0].name)
    text = migrations[0].read_text()
    assert 'down_revision: str | Sequence[str] | None = "5b8e2f1c9a3d"' in text  # the old head
    assert (
        "from app.models.author import Author as Author"
        in (project / "app" / "models" / "registry.py").read_text()
    )


def test_dry_run_writes_nothing_and_shows_the_diff(project: Path) -> None:
    before = state(project)
    code, output = gen(project, "entity", *AUTHOR, "--dry-run")
    assert code == 0, output
    assert state(project) == before
    assert "+++ b/app/models/author.py" in output
    assert "+from app.api.v1 import authors, items" in output


def test_running_again_changes_nothing(project: Path) -> None:
    assert gen(project, "entity", *AUTHOR)[0] == 0
    before = state(project)
    code, output = gen(project, "entity", *AUTHOR)
    assert code == 0, output
    assert state(project) == before
    assert set(re.findall(r"^\s+(\w+)  ", output, re.MULTILINE)) == {"identical"}


def test_the_same_spec_in_another_order_and_spelling_changes_nothing(project: Path) -> None:
    assert gen(project, "entity", *AUTHOR)[0] == 0
    before = state(project)
    code, output = gen(
        project, "entity", "author", "bio:text?", "name:str:unique:max=120", "--owned"
    )
    assert code == 0, output
    assert state(project) == before


def test_existing_files_are_not_overwritten(project: Path) -> None:
    model = project / "app" / "models" / "author.py"
    model.write_text("# mine\n")
    assert "conflict  app/models/author.py" in refused(project, "entity", *AUTHOR)
    code, output = gen(project, "entity", *AUTHOR, "--force")
    assert code == 0, output
    assert "force  app/models/author.py" in output


def test_an_existing_migration_is_never_overwritten(project: Path) -> None:
    now = datetime(2026, 11, 22, 10, 30, tzinfo=UTC)
    taken = project / "alembic" / "versions" / "20261122_1030_create_authors_table.py"
    taken.write_text('revision = "abc"\ndown_revision = "5b8e2f1c9a3d"\n')
    spec = EntitySpec(name="Author", fields=["name:str"])
    plan = entity_plan(Project.find(project), spec, now=now, force=True)
    created = [str(action.path) for action in plan.changes if "versions" in str(action.path)]
    assert created == ["alembic/versions/20261122_1030_create_authors_table_2.py"]


def test_destroy_restores_the_tree(project: Path) -> None:
    before = state(project)
    assert gen(project, "entity", *AUTHOR)[0] == 0
    assert gen(project, "entity", *BOOK)[0] == 0
    code, output = gen(project, "destroy", "Author")
    assert code == 2
    assert "Book refers to Author" in output
    for name in ("Book", "Author"):
        code, output = gen(project, "destroy", name)
        assert code == 0, output
    assert state(project) == before


def test_destroy_restores_a_project_without_entities(
    rendered: dict[str, Path], tmp_path: Path
) -> None:
    project = _copy(rendered["bare"], tmp_path / "project")
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "rendered"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *command],
            cwd=project,
            check=True,
        )
    before = state(project)
    assert gen(project, "entity", *AUTHOR)[0] == 0
    assert gen(project, "destroy", "Author")[0] == 0
    assert state(project) == before
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=project,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert status == ""


def test_destroy_keeps_files_you_changed(project: Path) -> None:
    assert gen(project, "entity", *AUTHOR)[0] == 0
    service = project / "app" / "services" / "author.py"
    service.write_text(service.read_text() + "# a rule of mine\n")
    assert "conflict  app/services/author.py" in refused(project, "destroy", "Author")
    assert gen(project, "destroy", "Author", "--force")[0] == 0
    assert not service.exists()


def test_several_alembic_heads_are_refused(project: Path) -> None:
    fork = project / "alembic" / "versions" / "20261122_0002_fork.py"
    fork.write_text('revision = "f0f0f0f0f0f0"\ndown_revision = "0f5e3c2a1b7d"\n')
    assert "2 heads" in refused(project, "entity", *AUTHOR)


# Bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["entity", "class", "name:str"], "keyword"),
        (["entity", "Book", "title:strng"], "'title:strng': unknown type 'strng'"),
        (["entity", "Book", "title:str:max=x"], "'title:str:max=x'"),
        (["entity", "Book", "author:ref=Writer"], "unknown entity 'Writer'"),
        (
            ["entity", "Book", "sequel:ref=Book"],
            "itself is optional (the first row refers to none)",
        ),
        (["entity", "Book", "a:ref=Item:ondelete=set-null"], "set-null needs an optional ref"),
        (["entity", "Book", "a:ref=Item:ondelete=later"], "ondelete is one of restrict, cascade"),
        (["entity", "Book", "a:int:ondelete=cascade"], "modifier 'ondelete' does not apply to int"),
        (["entity", "Book", "tags:refs=Item?"], "many-to-many is never null (no links is [])"),
        (["entity", "Book", "tags:refs=Item:ondelete=set-null"], "restrict or cascade"),
        (["entity", "Book", "books:refs=Book"], "many-to-many to the entity itself"),
        (["entity", "Book", "tags:refs=Item:unique"], "modifier 'unique' does not apply to refs"),
        (["entity", "Item", "name:str"], "--owned cannot change"),
        (["entity", "Item", "name:int", "--owned"], "str cannot become int"),
        (["entity", "Metadata"], "reserved"),
        (["entity", "Registry"], "reserved"),
        (["entity", "Thing", "--plural", "users"], "reserved"),
        (["entity", "Goods", "--plural", "items"], "already uses 'items'"),
        (["destroy", "Nothing"], "no entity 'Nothing'"),
        (["entity", "Nurse"], "needs a field at least, e.g. gen entity Nurse name:str"),
        (["entity", "Nurse", "name:str ward:int"], "write the fields without quotes"),
        (["entity", "Nurse", "name:str:max=30?"], "goes right after the type: name:str?:max=30"),
        (["entity", "Doctors", "name:str"], "'Doctors' looks plural: name it Doctor"),
        (
            ["entity", "Nurse", "ward:str:index:filter"],
            "'ward:str:index:filter': modifier 'filter'",
        ),
        (["entity", "Nurse", "on:bool:filter"], "'on:bool:filter': modifier 'filter' changes"),
        (["entity", "Nurse", "at:datetime:unique:sort"], "modifier 'sort' changes nothing"),
        (["field", "add", "Item", "code:str:index:sort"], "'code:str:index:sort': modifier 'sort'"),
        (["entity", "Nurse", "fee:int:filter", "fee_max:int:filter"], "'fee_max' is taken by"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    project: Path, arguments: list[str], message: str
) -> None:
    output = refused(project, *arguments)
    assert message in output
    assert len(output.strip().splitlines()) == 1, output


def test_stored_modifiers_that_change_nothing_keep_working(project: Path) -> None:
    """A spec an older gen stored with a modifier that changes nothing (it accepted one) keeps
    its meaning: only the tokens given now are refused."""
    assert gen(project, "entity", *AUTHOR)[0] == 0
    spec = project / ".gen" / "entities" / "author.json"
    old_token = "name:str:max=120:unique:sort"
    spec.write_text(spec.read_text().replace('"name:str:max=120:unique"', f'"{old_token}"'))
    code, output = gen(project, "field", "add", "Author", "born:date?")
    assert code == 0, output
    assert old_token in spec.read_text()
    code, output = gen(project, "field", "rename", "Author", "name", "pen_name")
    assert code == 0, output
    assert "pen_name:str:max=120:unique:sort" in spec.read_text()


def test_owned_needs_users(rendered: dict[str, Path], tmp_path: Path) -> None:
    project = _copy(rendered["no-auth"], tmp_path / "project")
    assert "--owned needs users" in refused(project, "entity", *AUTHOR)


def test_outside_a_project(tmp_path: Path) -> None:
    assert "not inside a fastapi-slices project" in refused(tmp_path, "entity", *AUTHOR)


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ("{{{", "unreadable"),
        ("- a list\n", "not a mapping"),
        ("_src_path: x\n", "lacks package_name"),
        ("package_name: nope\nauth: true\nstarter_entity: true\n", "nope/ is missing"),
    ],
)
def test_broken_answers_file(project: Path, answers: str, message: str) -> None:
    (project / ".copier-answers.yml").write_text(answers)
    assert message in refused(project, "entity", *AUTHOR)


TOKEN_PARTS = st.sampled_from(
    [
        "",
        ":",
        "?",
        "=",
        ",",
        "title",
        "str",
        "int",
        "decimal",
        "enum",
        "ref",
        "max",
        "min",
        "default",
        "unique",
        "9",
        "-1",
        "x",
        "Author",
        "json",
        "index",
        "class",
        " ",
        "\u00e9",
        "=10.2",
    ]
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    tokens=st.lists(
        st.lists(TOKEN_PARTS, min_size=1, max_size=8).map("".join), min_size=1, max_size=3
    )
)
def test_any_malformed_spec_exits_2_without_a_traceback(project: Path, tokens: list[str]) -> None:
    result = runner.invoke(
        app, ["entity", "Widget", *tokens, "--project", str(project), "--dry-run"]
    )
    assert result.exit_code in {0, 2}, result.output
    assert isinstance(result.exception, SystemExit | None)
    assert "Traceback" not in result.output
    if result.output.startswith("error:"):  # ours; a token like "-1" is a usage error instead
        assert len(result.output.strip().splitlines()) == 1, result.output


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"gen (fastapi-slices) {__version__}\n"


@pytest.mark.parametrize(
    "command", [[], ["entity"], ["field", "add"], ["destroy"], ["new"], ["update"], ["check"]]
)
def test_help_fits_80_columns(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0
    assert [line for line in result.output.splitlines() if len(line) > 80] == []
    assert "<bool>" not in result.output


@pytest.mark.parametrize(
    ("tools", "advice"),
    [
        (["uv"], "Next: uv run alembic upgrade head && uv run pytest"),
        ([], "Next: install uv (https://docs.astral.sh/uv/), then uv run alembic upgrade head"),
    ],
)
def test_next_steps_run_in_the_shell_you_are_in(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tools: list[str], advice: str
) -> None:
    """No `alembic` the shell cannot find: uv when it is on PATH, else how to get it."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in tools:
        (folder / tool).write_text("#!/bin/sh\n")
        (folder / tool).chmod(0o755)
    monkeypatch.setenv("PATH", str(folder))
    code, output = gen(project, "entity", *AUTHOR)
    assert code == 0, output
    assert advice in output
