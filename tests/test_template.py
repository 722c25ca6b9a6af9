"""Rendering the template: every option value, valid output, refused answers."""

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_copie.plugin import Copie

from tests.support import DEFAULT_PYTHON, OFFERED_PYTHONS, find_python

# Together these render every value of every question at least once.
VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "everything-off": {"auth": False, "starter_entity": False, "docker": False, "ci": False},
    "starter-without-auth": {"auth": False, "python_version": "3.12"},
    "auth-without-starter": {"starter_entity": False, "python_version": "3.13"},
    "named": {
        "project_name": "Book Shelf",
        "package_name": "shelf",
        "python_version": "3.12",
        "description": 'Lends "books", with \\backslashes\\.',
    },
}
MIGRATION_NAME = re.compile(r"^\d{8}_\d{4}_[a-z0-9_]+\.py$")
LEFTOVER_JINJA = re.compile(r"\{\{|\{%|%\}|\{#")


@pytest.fixture(scope="session", params=sorted(VARIANTS))
def variant(request: pytest.FixtureRequest, copie_session: Copie) -> tuple[dict[str, Any], Path]:
    """Each variant rendered once for every test that reads it."""
    answers = VARIANTS[request.param]
    result = copie_session.copy(extra_answers=answers)
    assert result.exit_code == 0, result.exception
    assert result.project_dir is not None
    return answers, result.project_dir


def _files(project: Path) -> list[Path]:
    return sorted(path for path in project.rglob("*") if path.is_file())


def test_no_leftover_jinja(variant: tuple[dict[str, Any], Path]) -> None:
    _, project = variant
    for path in _files(project):
        text = path.read_text(encoding="utf-8")
        if path.parts[-2:] == (".github", "workflows") or path.suffix == ".yml":
            text = text.replace("${{", "")  # GitHub Actions expressions
        assert not LEFTOVER_JINJA.search(text), f"Jinja left in {path.relative_to(project)}"


# Compiles without writing bytecode into the project; warnings too (such as an invalid escape
# sequence, a SyntaxWarning since 3.12) fail.
_COMPILE = """
import sys
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as source:
        compile(source.read(), path, "exec")
"""


def test_every_python_file_compiles(variant: tuple[dict[str, Any], Path]) -> None:
    """With the interpreter of the Python the project targets: 3.12 renders use 3.12 syntax."""
    answers, project = variant
    python = find_python(answers.get("python_version", DEFAULT_PYTHON))
    sources = [str(path) for path in _files(project) if path.suffix == ".py"]
    result = subprocess.run(
        [python, "-I", "-W", "error", "-c", _COMPILE, *sources],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_migration_names(variant: tuple[dict[str, Any], Path]) -> None:
    answers, project = variant
    names = sorted(path.name for path in (project / "alembic" / "versions").glob("*.py"))
    assert all(MIGRATION_NAME.match(name) for name in names), names
    # With users: their table, then revocable tokens; and the starter's table.
    expected = 2 * answers.get("auth", True) + answers.get("starter_entity", True)
    assert len(names) == expected


def test_options_choose_files(variant: tuple[dict[str, Any], Path]) -> None:
    answers, project = variant
    package = project / answers.get("package_name", "app")
    expectations = {
        package / "models" / "user.py": answers.get("auth", True),
        package / "api" / "v1" / "auth.py": answers.get("auth", True),
        package / "models" / "item.py": answers.get("starter_entity", True),
        project / ".gen" / "entities" / "item.json": answers.get("starter_entity", True),
        project / "Dockerfile": answers.get("docker", True),
        project / "compose.yaml": answers.get("docker", True),
        project / ".github" / "workflows" / "ci.yml": answers.get("ci", True),
    }
    for path, present in expectations.items():
        assert path.exists() == present, path.relative_to(project)
    assert (
        f'requires-python = ">={answers.get("python_version", "3.11")}"'
        in (project / "pyproject.toml").read_text()
    )


def test_answers_file_records_the_source(variant: tuple[dict[str, Any], Path]) -> None:
    answers, project = variant
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert recorded["_src_path"]
    assert recorded["_commit"]
    for key, value in answers.items():
        assert recorded[key] == value


def test_variants_cover_every_python() -> None:
    """The CI and Docker tests below see every offered Python through the variants."""
    covered = {
        answers.get("python_version", DEFAULT_PYTHON)
        for answers in VARIANTS.values()
        if answers.get("ci", True) and answers.get("docker", True)
    }
    assert covered == set(OFFERED_PYTHONS)


def test_ci_tests_every_python_the_project_supports(variant: tuple[dict[str, Any], Path]) -> None:
    """From the chosen (lowest) Python up to the newest the template offers."""
    answers, project = variant
    if not answers.get("ci", True):
        return  # no workflow (test_options_choose_files)
    lowest = answers.get("python_version", DEFAULT_PYTHON)
    workflow = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    for job in workflow["jobs"].values():
        matrix = job["strategy"]["matrix"]["python-version"]
        assert matrix == list(OFFERED_PYTHONS[OFFERED_PYTHONS.index(lowest) :])
        settings = [step.get("with", {}) for step in job["steps"]]
        pythons = [given["python-version"] for given in settings if "python-version" in given]
        assert pythons == ["${{ matrix.python-version }}"]


def test_docker_image_runs_the_chosen_python(variant: tuple[dict[str, Any], Path]) -> None:
    answers, project = variant
    if not answers.get("docker", True):
        return  # no Dockerfile (test_options_choose_files)
    dockerfile = (project / "Dockerfile").read_text()
    images = re.findall(r"^FROM\s+(\S+)", dockerfile, flags=re.MULTILINE | re.IGNORECASE)
    python = answers.get("python_version", DEFAULT_PYTHON)
    assert images, "no FROM line"
    assert all(image == f"python:{python}-slim" for image in images), images


def test_yaml_files_parse(variant: tuple[dict[str, Any], Path]) -> None:
    _, project = variant
    for path in _files(project):
        if path.suffix in {".yml", ".yaml"}:
            yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        ({"package_name": "class"}, "keyword"),
        ({"package_name": "9lives"}, "not starting with a digit"),
        ({"package_name": "My-App"}, "lower-case Python identifier"),
        ({"package_name": "fastapi"}, "shadow"),
        ({"package_name": "a" * 31}, "at most 30 characters"),
        ({"project_name": "   "}, "cannot be empty"),
        ({"project_slug": "Bad Slug"}, "slug must start with a letter"),
        ({"author_email": "nobody"}, "e-mail"),
        ({"python_version": "3.10"}, "3.10"),
    ],
)
def test_bad_answers_are_refused(copie: Copie, answers: dict[str, str], reason: str) -> None:
    result = copie.copy(extra_answers=answers)
    assert result.exit_code != 0
    assert reason in str(result.exception)
