"""The domain in one file: `gen apply` and `gen export`."""

import json
import re
import shutil
import sqlite3
import textwrap
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from fastapi_slices.cli import app
from fastapi_slices.domain import SCHEMA_PATH, Domain, creation_order, parse
from fastapi_slices.errors import SpecError
from fastapi_slices.spec import EntitySpec
from tests.support import REPO, Toolbox, gen, render, run_migrations, run_project_checks, state

# A clinic, in an order the references do not follow: six entities, refs among them, owned
# and shared ones.
CLINIC = """
entities:
  Prescription:
    fields:
      - drug:str:max=80
      - dose_mg:decimal=8.2:min=0
      - appointment:ref=Appointment
    owned: true
  Appointment:
    fields:
      - starts_at:datetime:index
      - patient:ref=Patient
      - doctor:ref=Doctor
      - room:ref=Room?
      - notes:text?
    owned: true
  Doctor:
    fields:
      - name:str:max=120:unique
      - speciality:enum=general,cardiology,paediatrics:default=general
  Room:
    fields: [code:str:max=10:unique, floor:int:min=0]
    plural: rooms
  Patient:
    fields:
      - name:str:max=120
      - born_on:date?
      - email:email:unique
    owned: true
  Ward:
    fields: [name:str:max=60:unique]
    timestamps: false
"""
# The same, one command each, in the order apply takes them: each entity after those it
# refers to, the rest as the file lists them.
ONE_AT_A_TIME = [
    ["Patient", "name:str:max=120", "born_on:date?", "email:email:unique", "--owned"],
    [
        "Doctor",
        "name:str:max=120:unique",
        "speciality:enum=general,cardiology,paediatrics:default=general",
    ],
    ["Room", "code:str:max=10:unique", "floor:int:min=0", "--plural", "rooms"],
    [
        "Appointment",
        "starts_at:datetime:index",
        "patient:ref=Patient",
        "doctor:ref=Doctor",
        "room:ref=Room?",
        "notes:text?",
        "--owned",
    ],
    [
        "Prescription",
        "drug:str:max=80",
        "dose_mg:decimal=8.2:min=0",
        "appointment:ref=Appointment",
        "--owned",
    ],
    ["Ward", "name:str:max=60:unique", "--no-timestamps"],
]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("domain") / "clinic")


@pytest.fixture
def project(rendered: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(rendered, tmp_path / "clinic"))


def apply(project: Path, text: str) -> tuple[int, str]:
    (project / "domain.yaml").write_text(text)
    return gen(project, "apply", str(project / "domain.yaml"))


def _tree(folder: Path) -> dict[str, str]:
    """The project's files, migrations named and identified alike whenever they were made."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or "domain" in path.name:
            continue
        text = re.sub(r"\b[0-9a-f]{12}\b", "<revision>", path.read_text())
        text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00:00", "<date>", text)
        relative = path.relative_to(folder)
        found[str(relative.parent / re.sub(r"^\d{8}_\d{4}_", "<stamp>_", path.name))] = text
    return found


def test_a_domain_file_makes_what_one_command_at_a_time_makes(
    rendered: Path, tmp_path: Path
) -> None:
    applied = Path(shutil.copytree(rendered, tmp_path / "applied"))
    code, output = apply(applied, CLINIC)
    assert code == 0, output
    by_hand = Path(shutil.copytree(rendered, tmp_path / "by-hand"))
    for arguments in ONE_AT_A_TIME:
        code, output = gen(by_hand, "entity", *arguments)
        assert code == 0, output
    assert (applied / SCHEMA_PATH).is_file()
    # Migrations hold their parent's revision: the same chain, however the ids came out.
    assert _tree(applied).keys() == _tree(by_hand).keys()
    for name, text in _tree(by_hand).items():
        assert _tree(applied)[name] == text, name


def test_applying_the_same_file_again_changes_nothing(project: Path) -> None:
    assert apply(project, CLINIC)[0] == 0
    before = state(project)
    code, output = apply(project, CLINIC)
    assert code == 0, output
    assert state(project) == before
    assert "note  not in the file, left as they are: Item" in output
    assert not re.search(r"^\s+(create|update|merge|inject)\s", output, re.MULTILINE), output


def test_export_writes_what_apply_takes_back(project: Path) -> None:
    assert apply(project, CLINIC)[0] == 0
    code, output = gen(project, "export", str(project / "exported.yaml"))
    assert code == 0, output
    exported = (project / "exported.yaml").read_text()
    assert exported.startswith(f"# yaml-language-server: $schema={SCHEMA_PATH}\n")
    names = list(yaml.safe_load(exported)["entities"])
    assert names.index("Patient") < names.index("Appointment") < names.index("Prescription")
    assert parse(exported, "x").specs() == parse(CLINIC, "x").specs() | {
        "Item": parse(exported, "x").specs()["Item"]
    }
    before = state(project)
    assert gen(project, "apply", str(project / "exported.yaml"))[0] == 0
    assert state(project) == before


def test_the_published_schema_is_the_one_gen_reads(project: Path) -> None:
    assert gen(project, "export", "-")[0] == 0
    assert apply(project, "entities: {}\n")[0] == 0
    assert json.loads((project / SCHEMA_PATH).read_text()) == Domain.model_json_schema()


def test_a_changed_file_evolves_the_project(project: Path) -> None:
    assert apply(project, CLINIC)[0] == 0
    changed = CLINIC.replace("      - notes:text?\n", "      - duration:int:min=5:default=30\n")
    changed = changed.replace(
        "fields: [name:str:max=60:unique]",
        "fields: [name:str:max=60:unique, 'head:ref=Doctor?', 'doctors:refs=Doctor']",
    )
    code, output = apply(project, changed)
    assert code == 0, output
    migrations = sorted(path.name for path in (project / "alembic" / "versions").iterdir())
    assert any(name.endswith("_change_appointments.py") for name in migrations), migrations
    assert any(name.endswith("_add_head_doctors_to_wards.py") for name in migrations), migrations


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("entities: [Book]\n", r"domain\.yaml: entities: Input should be a valid dictionary"),
        (
            "entities:\n  Book:\n    fields: [title:str]\n    color: red\n",
            r"entities\.Book\.color: Extra inputs",
        ),
        (
            "entities:\n  Book:\n    fields: [bio:text?]\n",
            r"line 3: .*'\?'; write the fields one `- name:type\?` a line",
        ),
        (
            "entities:\n  Chicken: {fields: [egg:ref=Egg]}\n  Egg: {fields: [hen:ref=Chicken]}\n",
            r"references go round in a circle: Chicken -> Egg -> Chicken",
        ),
        ("entities:\n  Book:\n    fields: [title:strr]\n", r"unknown type 'strr'"),
    ],
)
def test_a_bad_file_is_one_line_and_changes_nothing(project: Path, text: str, message: str) -> None:
    (project / "domain.yaml").write_text(text)
    before = state(project)
    code, output = gen(project, "apply", str(project / "domain.yaml"))
    assert code == 2
    assert re.search(message, output), output
    assert len(output.strip().splitlines()) == 1, output
    assert state(project) == before


def test_creation_order_puts_targets_first() -> None:
    specs = parse(CLINIC, "clinic").specs()
    order = [spec.name for spec in creation_order(specs)]
    assert order.index("Doctor") < order.index("Appointment") < order.index("Prescription")
    assert order.index("Room") < order.index("Appointment")
    with pytest.raises(SpecError, match="given twice"):
        parse("entities:\n  Book: {fields: [a:str]}\n  book: {fields: [a:str]}\n", "x").specs()
    assert EntitySpec("Ward", ["name:str"]) == EntitySpec("Ward", ["name:str"])


@pytest.mark.slow
def test_applied_changes_migrate_a_database_holding_rows(
    toolbox: Toolbox, project: Path, tmp_path: Path
) -> None:
    """Applied, filled with rows, changed (fields added and removed, a relation added) and
    applied again: the migrations upgrade the database, and the project's checks pass."""
    assert apply(project, CLINIC)[0] == 0
    database = tmp_path / "clinic.db"
    url = f"sqlite+aiosqlite:///{database}"
    run_migrations(toolbox, project, url)
    with sqlite3.connect(database) as connection:
        connection.execute(
            "INSERT INTO doctors (name, speciality, created_at, updated_at)"
            " VALUES ('Dr Who', 'general', '2026-01-01', '2026-01-01')"
        )
        connection.execute("INSERT INTO wards (name) VALUES ('North')")
    changed = CLINIC.replace("      - notes:text?\n", "      - duration:int:min=5:default=30\n")
    changed = changed.replace(
        "fields: [name:str:max=60:unique]",
        "fields: [name:str:max=60:unique, 'head:ref=Doctor?', 'doctors:refs=Doctor']",
    )
    assert apply(project, changed)[0] == 0
    toolbox.run(project, "alembic", "upgrade", "head", DATABASE_URL=url)
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT name, head_id FROM wards").fetchall() == [("North", None)]
        # The new many-to-many links the rows already there.
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("INSERT INTO wards_doctors (ward_id, doctor_id) VALUES (1, 1)")
        with pytest.raises(sqlite3.IntegrityError):  # a link to no doctor
            connection.execute("INSERT INTO wards_doctors (ward_id, doctor_id) VALUES (1, 9)")
    toolbox.run(project, "alembic", "downgrade", "-1", DATABASE_URL=url)
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        assert "wards_doctors" not in tables
    toolbox.run(project, "alembic", "upgrade", "head", DATABASE_URL=url)
    run_project_checks(toolbox, project)


def test_the_documented_domain_files_apply(rendered: Path, tmp_path: Path) -> None:
    """The README's domain file and the one `gen apply --help` shows are files gen applies."""
    readme = (REPO / "README.md").read_text()
    documented = re.search(r"```yaml\n# domain.yaml\n(.*?)```", readme, re.DOTALL)
    assert documented is not None
    help_text = CliRunner().invoke(app, ["apply", "--help"], terminal_width=200).output
    shown = textwrap.dedent(help_text.partition("gen export` writes the current one):\n")[2])
    shown = shown[: shown.index("\n\n")] if "\n\n" in shown else shown
    for number, text in enumerate((documented.group(1), shown)):
        project = Path(shutil.copytree(rendered, tmp_path / f"project-{number}"))
        code, output = apply(project, text)
        assert code == 0, output
        assert "create  alembic/versions/" in output
