"""Who may write the rows of an entity that is not owned: superusers only, unless the entity
is generated with --open-writes; specs of earlier releases keep the open writes they had.

The generated tests prove the rules over HTTP (a user's writes 403, a superuser's 2xx; see
test_generated_project.py, whose projects hold both kinds); these tests prove what gen decides.
"""

import json
import shutil
from pathlib import Path

import pytest

from fastapi_slices.context import check_spec
from fastapi_slices.errors import SpecError
from fastapi_slices.spec import SPEC_VERSION, EntitySpec, ProjectFacts
from tests.support import gen, render

GENRE = ["entity", "Genre", "name:str:max=60:unique"]
ROUTES = Path("app/api/v1/genres.py")
SPEC = Path(".gen/entities/genre.json")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("permissions") / "project", starter_entity=False)


@pytest.fixture
def project(rendered: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(rendered, tmp_path / "project"))


def writers(project: Path) -> str:
    """Who the routes let write: "superusers" or "users"."""
    routes = (project / ROUTES).read_text()
    superusers = routes.count("service: GenreWriterDep")
    users = routes.count("service: GenreServiceDep")
    # Each of the six routes takes its service: the two reads a user's; create, change, delete
    # and the import their writer's, which the routes take as a superuser's (403 for others).
    assert superusers + users == 6, routes
    if superusers == 4:
        assert "Depends(authorized(GenreService, superuser=True))" in routes
        return "superusers"
    assert (superusers, "GenreWriterDep" in routes) == (0, False)
    return "users"


def stored(project: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((project / SPEC).read_text())
    return data


def migrations(project: Path) -> set[str]:
    return {path.name for path in (project / "alembic" / "versions").glob("*.py")}


def test_a_new_shared_entity_is_written_by_superusers(project: Path) -> None:
    code, output = gen(project, *GENRE)
    assert code == 0, output
    assert writers(project) == "superusers"
    assert (stored(project)["open_writes"], stored(project)["version"]) == (False, SPEC_VERSION)
    page = (project / "docs" / "api" / "genres.md").read_text()
    assert "only superusers create, change, delete or import" in page
    assert '-H "Authorization: Bearer $ADMIN_TOKEN"' in page


def test_open_writes_is_kept_until_asked_otherwise(project: Path) -> None:
    assert gen(project, *GENRE, "--open-writes")[0] == 0
    assert writers(project) == "users"
    before = migrations(project)
    # A change of fields keeps the rule: only --superuser-writes takes it back.
    assert gen(project, *GENRE, "blurb:text?")[0] == 0
    assert (writers(project), stored(project)["open_writes"]) == ("users", True)
    assert len(migrations(project) - before) == 1
    code, output = gen(project, *GENRE, "blurb:text?", "--superuser-writes")
    assert code == 0, output
    assert (writers(project), stored(project)["open_writes"]) == ("superusers", False)
    assert len(migrations(project) - before) == 1  # who writes is code, not a table change
    assert "update  app/api/v1/genres.py" in output


def test_owned_entities_cannot_open_writes(project: Path) -> None:
    code, output = gen(project, *GENRE, "--owned", "--open-writes")
    assert code == 2
    assert "--open-writes is for entities that are not --owned" in output
    assert not (project / ROUTES).exists()


def test_an_earlier_spec_keeps_its_open_writes() -> None:
    """Before spec version 3 every user wrote the rows of a shared entity; they still do, and
    this release writes the spec down with that meaning."""
    for version in (1, 2):
        shared = {"name": "Genre", "fields": ["name:str"], "owned": False, "version": version}
        owned = shared | {"owned": True}
        assert EntitySpec.from_json(json.dumps(shared)).open_writes
        assert not EntitySpec.from_json(json.dumps(owned)).open_writes
        current = EntitySpec.from_json(json.dumps(shared)).current()
        assert (current.version, current.open_writes) == (SPEC_VERSION, True)
        assert EntitySpec.from_json(current.to_json()).open_writes
    new = EntitySpec.from_json(json.dumps(shared | {"version": 3}))
    assert not new.open_writes


def test_the_domain_file_says_who_writes(project: Path) -> None:
    domain = project / "domain.yaml"
    domain.write_text(
        "entities:\n  Genre:\n    fields: [name:str]\n    open_writes: true\n"
        "  Shelf:\n    fields: [label:str]\n"
    )
    code, output = gen(project, "apply", str(domain))
    assert code == 0, output
    assert writers(project) == "users"
    assert not json.loads((project / ".gen/entities/shelf.json").read_text())["open_writes"]
    exported = gen(project, "export", "-")[1]
    assert "open_writes: true" in exported.split("Shelf:")[0]
    assert "open_writes" not in exported.split("Shelf:")[1]
    # Unset in the file: the entity keeps its rule, and applying again changes nothing.
    domain.write_text("entities:\n  Genre:\n    fields: [name:str]\n")
    code, output = gen(project, "apply", str(domain))
    assert (code, writers(project)) == (0, "users")
    assert "update" not in output


def test_a_spec_cannot_open_owned_writes() -> None:
    """Whatever says so: a domain file, or a spec written by hand."""
    spec = EntitySpec(name="Genre", fields=["name:str"], owned=True, open_writes=True)
    with pytest.raises(SpecError, match="--open-writes is for entities that are not --owned"):
        check_spec(spec, ProjectFacts(package_name="app", auth=True))
