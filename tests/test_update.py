"""`copier update` of grown projects: a release gate, on throwaway copies of this repository.

A copy of the working tree becomes a template repository tagged v1.0.0; a second commit,
tagged v1.1.0, adds a template migration, changes a model and a template-owned file. Projects
rendered from v1.0.0 and grown with `gen entity` must update to v1.1.0 with no conflicts, one
migration head, and every check passing, including `alembic upgrade head` on a database
migrated under v1.0.0.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from fastapi_slices.cli import app
from tests.support import REPO, Toolbox, run_project_checks

GEN = str(Path(sys.executable).parent / "gen")
GIT = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com"]
ENTITIES = [
    ["Author", "name:str:max=120:unique", "--owned"],
    ["Book", "title:str:max=200:index", "author:ref=Author", "--owned"],
    ["Review", "book:ref=Book", "score:int:min=1:max=5"],
]
NEW_MIGRATION = '''"""Add users.last_login.

Revision ID: 7a1b2c3d4e5f
Revises: 3c9d4e7f2a10
Create Date: 2026-12-01 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7a1b2c3d4e5f"
down_revision: str | Sequence[str] | None = "3c9d4e7f2a10"
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


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git copy of this working tree, released as v1.0.0 and then v1.1.0."""
    folder = tmp_path_factory.mktemp("template") / "fastapi-slices"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, (item.decode() for item in listed)):
        source = REPO / name
        if source.is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, folder / name)
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


@pytest.fixture(scope="module")
def grown(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A v1.0.0 project with three entities (a chain of refs), committed."""
    project = _new_project(template, tmp_path_factory.mktemp("grown") / "shop")
    for entity in ENTITIES:
        result = gen(project, "entity", *entity)
        assert result.returncode == 0, result.stderr
    git(project, "add", "-A")
    git(project, "commit", "-qm", "three entities")
    return project


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
    grown: Path, toolbox: Toolbox, postgres_database: str, tmp_path: Path
) -> None:
    databases = [f"sqlite+aiosqlite:///{tmp_path / 'old.db'}", postgres_database]
    for url in databases:  # databases in production under v1.0.0
        toolbox.run(grown, "alembic", "upgrade", "head", DATABASE_URL=url)

    result = gen(grown, "update")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "merge_heads.py" in result.stdout  # the template's migration met the project's
    assert git(grown, "ls-files", "-u") == ""
    assert list(grown.rglob("*.rej")) == []
    assert yaml.safe_load((grown / ".copier-answers.yml").read_text())["_commit"] == "v1.1.0"
    assert "last_login" in (grown / "app" / "models" / "user.py").read_text()
    assert "answering" in (grown / "app" / "api" / "health.py").read_text()

    check = gen(grown, "check")
    assert check.returncode == 0, check.stderr  # one head, every entity registered
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
    check = gen(project, "check")
    assert check.returncode == 1
    assert "2 heads" in check.stderr
    fixed = gen(project, "check", "--fix")
    assert fixed.returncode == 0, fixed.stderr
    assert "merge_heads.py" in fixed.stdout


def test_untouched_project_equals_a_fresh_render(template: Path, tmp_path: Path) -> None:
    updated = _new_project(template, tmp_path / "updated")
    assert gen(updated, "update").returncode == 0
    fresh = _new_project(template, tmp_path / "fresh", ref="v1.1.0")

    def files(folder: Path) -> dict[str, bytes]:
        return {
            str(p.relative_to(folder)): p.read_bytes()
            for p in folder.rglob("*")
            if p.is_file() and ".git" not in p.parts and p.name != ".copier-answers.yml"
        }

    assert files(updated) == files(fresh)


def test_update_refuses_uncommitted_changes(grown: Path) -> None:
    readme = grown / "README.md"
    original = readme.read_text()
    readme.write_text(original + "\nmine\n")
    try:
        result = gen(grown, "update")
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
    git(project, "commit", "-qam", "my wording")
    result = gen(project, "update")
    assert result.returncode == 1
    assert "conflict  app/api/health.py" in result.stdout
    assert "<<<<<<<" in health.read_text()
