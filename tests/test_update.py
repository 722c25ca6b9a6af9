"""`gen update` of grown projects: a release gate, on throwaway copies of this repository.

A copy of the working tree becomes a template repository tagged v1.0.0; a second commit,
tagged v1.1.0, adds a template migration, changes a model and a template-owned file, and
releases a gen that writes slices differently. Projects rendered from v1.0.0 and grown with
its `gen entity` must update (with gen 1.1.0, as users would) with no conflicts, one migration
head, their slices merged into the new release with the user's edits kept, and every check
passing, including `alembic upgrade head` on a database migrated under v1.0.0.

The last test updates a project of this repository's own first release (0.1.0, which kept no
base copies of slices) to the working tree.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from fastapi_slices import __version__
from fastapi_slices.cli import app
from fastapi_slices.spec import SPEC_VERSION
from tests.support import REPO, Toolbox, copy_working_tree, run_project_checks
from tests.test_living import CUSTOM_ROUTE  # the user's own route, on the API of this release

GEN = str(Path(sys.executable).parent / "gen")
GIT = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com"]
ENTITIES = [
    ["Author", "name:str:max=120:unique", "--owned"],
    ["Book", "title:str:max=200:index", "author:ref=Author", "--owned"],
    ["Review", "book:ref=Book", "score:int:min=1:max=5"],
]
NEW_MIGRATION = '''"""Add users.last_login.

Revision ID: 7a1b2c3d4e5f
Revises: 5b8e2f1c9a3d
Create Date: 2026-12-01 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7a1b2c3d4e5f"
down_revision: str | Sequence[str] | None = "5b8e2f1c9a3d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("last_login", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("last_login")
'''
USER_MODEL = "template/{{package_name}}/models/{% if auth %}user.py{% endif %}.jinja"
HEALTH = "template/{{package_name}}/api/health.py.jinja"
ROUTES = "generator/fastapi_slices/templates/entity/routes.py.jinja"
RELEASE_1_1 = "9.1.0"  # the version of gen in release 1.1.0
# Earlier releases of fastapi-slices: 0.1.0 and 0.2.0, before gen kept base copies of
# slices (spec version 1), 0.3.0 and 0.4.0 (spec version 2: every user wrote shared rows),
# 0.5.0 (spec version 3: superusers write shared rows by default), 0.6.0, 0.7.0 (services
# act for an actor given at construction), and 0.8.0, the previous release (a write that is
# the whole change runs alone).
EARLIER_RELEASES = {
    "v0.1.0": "13c5047",
    "v0.2.0": "89a76bd",
    "v0.3.0": "2f7e55c",
    "v0.4.0": "8b46032",
    "v0.5.0": "516854c",
    "v0.6.0": "9352019",
    "v0.7.0": "9c78abd",
    "v0.8.0": "9c2427b",
}
PREVIOUS_RELEASE = "v0.8.0"
# Releases whose slices' services changed since: the next release leaves 0.8.0's as they are.
SERVICES_CHANGED_SINCE = set(EARLIER_RELEASES) - {"v0.8.0"}
# Releases whose specs are of version 2 or older: their shared entities keep open writes.
OPEN_WRITES_RELEASES = {"v0.1.0", "v0.2.0", "v0.3.0", "v0.4.0"}

pytestmark = pytest.mark.slow
runner = CliRunner()


def git(folder: Path, *arguments: str) -> str:
    return subprocess.run(
        [*GIT, *arguments], cwd=folder, check=True, capture_output=True, text=True
    ).stdout


def gen(project: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GEN, *arguments], cwd=project, capture_output=True, text=True, check=False
    )


def gen_of(release: Path, project: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """gen as a release of it ships: the `generator/` of that checkout, in this Python."""
    return subprocess.run(
        [sys.executable, "-m", "fastapi_slices", *arguments],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | {"PYTHONPATH": str(release / "generator")},
    )


def _release_v1_1(template: Path) -> None:
    """The newer release: its own migration, a model column, and a changed docstring."""
    versions = template / "template" / "alembic" / "versions"
    (versions / "{% if auth %}20261201_0000_add_users_last_login.py{% endif %}.jinja").write_text(
        NEW_MIGRATION
    )
    model = template / USER_MODEL
    text = model.read_text()
    text = text.replace(
        "from sqlalchemy import String",
        "from datetime import datetime\n\nfrom sqlalchemy import String",
    )
    text = text.replace(
        "    is_superuser: Mapped[bool] = mapped_column(default=False)\n",
        "    is_superuser: Mapped[bool] = mapped_column(default=False)\n"
        "    last_login: Mapped[datetime | None]\n",
    )
    model.write_text(text)
    health = template / HEALTH
    health.write_text(
        health.read_text().replace(
            '"""The process is up and serving."""', '"""The process is up and answering."""'
        )
    )
    settings = template / "template" / "pyproject.toml.jinja"
    settings.write_text(settings.read_text() + "\n[tool.coverage.run]\nbranch = true\n")
    # gen 1.1.0 words a route of every slice differently.
    routes = template / ROUTES
    routes.write_text(
        routes.read_text().replace(
            '"""Read one {{ e.title | lower }}."""',
            '"""Read one {{ e.title | lower }} by its id."""',
        )
    )
    version = template / "generator" / "fastapi_slices" / "__init__.py"
    version.write_text(
        re.sub(r'__version__ = ".*"', f'__version__ = "{RELEASE_1_1}"', version.read_text())
    )
    subprocess.run(  # the starter's context, written by gen 1.1.0
        [sys.executable, "-m", "fastapi_slices.starter"],
        check=True,
        capture_output=True,
        env=os.environ | {"PYTHONPATH": str(template / "generator")},
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git copy of this working tree, released as v1.0.0 and then v1.1.0."""
    folder = tmp_path_factory.mktemp("template") / "fastapi-slices"
    copy_working_tree(folder)
    git(folder, "init", "-q")
    git(folder, "add", "-A")
    git(folder, "commit", "-qm", "release 1.0.0")
    git(folder, "tag", "v1.0.0")
    _release_v1_1(folder)
    git(folder, "add", "-A")
    git(folder, "commit", "-qm", "release 1.1.0: users.last_login")
    git(folder, "tag", "v1.1.0")
    return folder


def _new_project(template: Path, destination: Path, ref: str = "v1.0.0") -> Path:
    result = gen(
        destination.parent,
        "new",
        str(destination),
        "--template",
        str(template),
        "--vcs-ref",
        ref,
        "--defaults",
    )
    assert result.returncode == 0, result.stderr
    git(destination, "init", "-q")
    git(destination, "add", "-A")
    git(destination, "commit", "-qm", "rendered")
    return destination


def grow(project: Path, *, edit: bool) -> Path:
    """Three entities (a chain of refs), and the user's own route and wording; committed."""
    for entity in ENTITIES:
        result = gen(project, "entity", *entity)
        assert result.returncode == 0, result.stderr
    if edit:
        routes = project / "app" / "api" / "v1" / "books.py"
        text = routes.read_text().replace('"""List books, a page', '"""List our books, a page')
        routes.write_text(text + CUSTOM_ROUTE)
    git(project, "add", "-A")
    git(project, "commit", "-qm", "three entities")
    return project


@pytest.fixture(scope="module")
def grown(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A v1.0.0 project grown with gen 1.0.0, and edited."""
    return grow(_new_project(template, tmp_path_factory.mktemp("grown") / "shop"), edit=True)


def test_new_records_an_absolute_source(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(template.parent)
    result = runner.invoke(
        app,
        [
            "new",
            str(tmp_path / "p"),
            "--template",
            template.name,
            "--vcs-ref",
            "v1.0.0",
            "--defaults",
            "-d",
            "package_name=shop",
        ],
    )
    assert result.exit_code == 0, result.output
    answers = yaml.safe_load((tmp_path / "p" / ".copier-answers.yml").read_text())
    assert answers["_src_path"] == str(template)
    assert answers["_commit"] == "v1.0.0"
    assert answers["package_name"] == "shop"


def test_update_keeps_a_grown_project_working(
    template: Path, grown: Path, toolbox: Toolbox, postgres_database: str, tmp_path: Path
) -> None:
    databases = [f"sqlite+aiosqlite:///{tmp_path / 'old.db'}", postgres_database]
    for url in databases:  # databases in production under v1.0.0
        toolbox.run(grown, "alembic", "upgrade", "head", DATABASE_URL=url)

    result = gen_of(template, grown, "update")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "merge_heads.py" in result.stdout  # the template's migration met the project's
    assert git(grown, "ls-files", "-u") == ""
    assert list(grown.rglob("*.rej")) == []
    assert yaml.safe_load((grown / ".copier-answers.yml").read_text())["_commit"] == "v1.1.0"
    assert "last_login" in (grown / "app" / "models" / "user.py").read_text()
    assert "answering" in (grown / "app" / "api" / "health.py").read_text()
    # Every slice follows gen 1.1.0, the user's edits kept.
    assert "merge  app/api/v1/books.py  (your edits kept)" in result.stdout
    books = (grown / "app" / "api" / "v1" / "books.py").read_text()
    assert '"""Read one book by its id."""' in books
    assert '"""List our books, a page' in books
    assert books.endswith(CUSTOM_ROUTE)
    for routes in ("authors.py", "reviews.py", "items.py"):
        assert "by its id." in (grown / "app" / "api" / "v1" / routes).read_text()
    assert RELEASE_1_1 in (grown / ".gen" / "entities" / "book.json").read_text()
    assert "pyproject.toml changed: refresh your environment and lock file" in result.stdout

    check = gen_of(template, grown, "check")
    assert check.returncode == 0, check.stderr  # one head, every slice of this release
    for url in databases:
        toolbox.run(grown, "alembic", "upgrade", "head", DATABASE_URL=url)
        toolbox.run(grown, "alembic", "check", DATABASE_URL=url)
    run_project_checks(toolbox, grown)
    assert " passed" in toolbox.run(grown, "pytest", "-q", "-p", "no:cacheprovider")


def test_plain_copier_update_then_gen_check_fix(template: Path, tmp_path: Path) -> None:
    project = _new_project(template, tmp_path / "shop")
    assert gen(project, "entity", *ENTITIES[0]).returncode == 0
    git(project, "add", "-A")
    git(project, "commit", "-qm", "author")
    copier = Path(sys.executable).parent / "copier"
    subprocess.run(
        [str(copier), "update", "--defaults", "--quiet"],
        cwd=project,
        check=True,
        capture_output=True,
    )
    check = gen_of(template, project, "check")
    assert check.returncode == 1
    assert "2 heads" in check.stderr
    assert (
        f"Author: written by gen {__version__}; `gen check --fix` merges gen {RELEASE_1_1}"
        in check.stderr
    )
    fixed = gen_of(template, project, "check", "--fix")
    assert fixed.returncode == 0, fixed.stderr
    assert "merge_heads.py" in fixed.stdout
    assert "update  app/api/v1/authors.py" in fixed.stdout
    assert gen_of(template, project, "check").returncode == 0


def _files(folder: Path) -> dict[str, bytes]:
    """A project's files, but for what names a migration (revision ids, dates, file names)."""
    found = {}
    for path in folder.rglob("*"):
        name = str(path.relative_to(folder))
        if not path.is_file() or ".git" in path.parts or name == ".copier-answers.yml":
            continue
        text = path.read_bytes()
        if name.startswith((".gen/entities/", "alembic/versions/")):
            text = re.sub(rb"[0-9a-f]{12}|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|\d{8}_\d{4}", b"-", text)
            name = re.sub(r"\d{8}_\d{4}_", "", name)
        found[name] = text
    return found


def test_untouched_project_equals_a_fresh_render(template: Path, tmp_path: Path) -> None:
    updated = _new_project(template, tmp_path / "updated")
    assert gen_of(template, updated, "update").returncode == 0
    fresh = _new_project(template, tmp_path / "fresh", ref="v1.1.0")
    assert _files(updated) == _files(fresh)


def test_untouched_grown_project_equals_a_fresh_grown_one(template: Path, tmp_path: Path) -> None:
    updated = grow(_new_project(template, tmp_path / "updated"), edit=False)
    assert gen_of(template, updated, "update").returncode == 0
    fresh = _new_project(template, tmp_path / "fresh", ref="v1.1.0")
    for entity in ENTITIES:
        assert gen_of(template, fresh, "entity", *entity).returncode == 0
    files, fresh_files = _files(updated), _files(fresh)
    # The template's migration and the project's met in a merge revision; a fresh project's
    # history is one line from the start.
    assert [name for name in files if name not in fresh_files] == [
        "alembic/versions/merge_heads.py"
    ]
    del files["alembic/versions/merge_heads.py"]
    assert files == fresh_files


def test_update_refuses_uncommitted_changes(template: Path, grown: Path) -> None:
    readme = grown / "README.md"
    original = readme.read_text()
    readme.write_text(original + "\nmine\n")
    try:
        result = gen_of(template, grown, "update")
        assert result.returncode == 2
        assert "uncommitted changes" in result.stderr
    finally:
        readme.write_text(original)


def test_update_reports_conflicts(template: Path, tmp_path: Path) -> None:
    project = _new_project(template, tmp_path / "shop")
    health = project / "app" / "api" / "health.py"
    health.write_text(
        health.read_text().replace(
            '"""The process is up and serving."""', '"""Alive: the process answers."""'
        )
    )
    routes = project / "app" / "api" / "v1" / "items.py"
    routes.write_text(routes.read_text().replace('"""Read one item."""', '"""Read an item."""'))
    git(project, "commit", "-qam", "my wording")
    result = gen_of(template, project, "update")
    assert result.returncode == 1
    assert "conflict  app/api/health.py" in result.stdout
    assert "unmerged  app/api/v1/items.py" in result.stdout
    assert "<<<<<<<" in health.read_text()
    assert "<<<<<<< before gen" in routes.read_text()


# In CI: the previous release every time, one of the older ones in turn (conftest.py).
@pytest.mark.rotating("release", always=(PREVIOUS_RELEASE,))
@pytest.mark.parametrize("release", sorted(EARLIER_RELEASES))
def test_update_from_an_earlier_release(toolbox: Toolbox, tmp_path: Path, release: str) -> None:
    """A project of an earlier release, grown with its gen and edited, updated to this working
    tree: the changes since are merged into its slices, the user's edit kept. Slices of 0.1.0
    and 0.2.0 kept no base copy, so that release's gen renders their base again (0.2.0
    dropped a router-wide dependency of owned routes; later releases changed every slice's
    tests)."""
    source = tmp_path / "fastapi-slices"
    git(tmp_path, "clone", "-q", str(REPO), str(source))  # the history, with the release
    git(source, "tag", "-f", release, EARLIER_RELEASES[release])
    old = tmp_path / f"gen-{release}"
    git(source, "worktree", "add", "-q", str(old), EARLIER_RELEASES[release])
    for path in source.iterdir():  # the next release: this working tree
        if path.name != ".git":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    copy_working_tree(source)
    git(source, "add", "-A")
    git(source, "commit", "-q", "--allow-empty", "-m", "the working tree")  # clean in CI
    git(source, "tag", "v99.0.0")
    project = tmp_path / "shop"
    result = gen_of(
        old,
        tmp_path,
        "new",
        str(project),
        "--template",
        str(source),
        "--vcs-ref",
        release,
        "--defaults",
    )
    assert result.returncode == 0, result.stderr
    for entity in ENTITIES:
        result = gen_of(old, project, "entity", *entity)
        assert result.returncode == 0, result.stderr
    routes = project / "app" / "api" / "v1" / "books.py"
    first = release == "v0.1.0"
    assert ("dependencies=[Depends(get_current_user)]" in routes.read_text()) == first
    routes.write_text(
        routes.read_text().replace('"""HTTP routes for books:', '"""HTTP routes for our books:')
    )
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", f"grown with gen {release}")

    result = gen(project, "update")
    assert result.returncode == 0, result.stdout + result.stderr
    services_changed = "update  app/services/book.py" in result.stdout
    assert services_changed == (release in SERVICES_CHANGED_SINCE)
    # The template's own files follow it: the units keep connections since 0.9.0.
    assert "give_back" in (project / "app" / "core" / "unit.py").read_text()
    if first:
        assert "merge  app/api/v1/books.py  (your edits kept)" in result.stdout
    text = routes.read_text()
    assert '"""HTTP routes for our books:' in text
    assert "dependencies=[Depends(get_current_user)]" not in text
    specs = project / ".gen" / "entities"
    assert json.loads((specs / "book.json").read_text())["version"] == SPEC_VERSION
    # Every user wrote reviews before spec version 3, and still does; since, superusers do.
    open_writes = release in OPEN_WRITES_RELEASES
    review = json.loads((specs / "review.json").read_text())
    assert (review["version"], review["open_writes"]) == (SPEC_VERSION, open_writes)
    reviews = (project / "app/api/v1/reviews.py").read_text()
    assert ("authorized(ReviewService, superuser=True)" in reviews) != open_writes
    check = gen(project, "check")
    assert check.returncode == 0, check.stderr
    run_project_checks(toolbox, project)
    assert " passed" in toolbox.run(project, "pytest", "-q", "-p", "no:cacheprovider")
