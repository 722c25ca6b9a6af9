"""A project rendered from the fastapi-slices template, as `gen` sees it."""

import ast
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePath, PurePosixPath
from typing import Any

import yaml

from fastapi_slices.errors import ProjectError, SpecError
from fastapi_slices.spec import EntitySpec, ProjectFacts, Target

ANSWERS_FILE = ".copier-answers.yml"
SPECS_DIR = Path(".gen") / "entities"
MIGRATIONS_DIR = Path("alembic") / "versions"
REQUIRED_ANSWERS = ("package_name", "auth", "starter_entity")


@dataclass(frozen=True)
class Revision:
    """One Alembic migration file, read without importing it."""

    path: Path
    revision: str
    down_revisions: tuple[str, ...]


class Project:
    """The project at `root`: its answers, entity specs and migrations.

    With `overlay`, the project as it would be once those files are written (None: removed):
    a plan of several steps plans each on what the steps before it leave.
    """

    def __init__(
        self,
        root: Path,
        answers: dict[str, Any],
        overlay: Mapping[PurePosixPath, str | None] | None = None,
    ) -> None:
        self.root = root
        self.answers = answers
        self.package: str = answers["package_name"]
        self.auth: bool = bool(answers["auth"])
        self.overlay = dict(overlay or {})

    def with_changes(self, changes: Mapping[PurePosixPath, str | None]) -> "Project":
        """This project with `changes` written, in memory."""
        return Project(self.root, self.answers, {**self.overlay, **changes})

    @classmethod
    def find(cls, start: Path) -> "Project":
        """The project holding `start`, found by its answers file."""
        start = start.resolve()
        for folder in (start, *start.parents):
            if (folder / ANSWERS_FILE).is_file():
                return cls(folder, _read_answers(folder / ANSWERS_FILE))
        raise ProjectError(
            f"{start} is not inside a fastapi-slices project "
            f"(no {ANSWERS_FILE}); run gen there or pass --project"
        )

    # Paths ------------------------------------------------------------------------

    @property
    def models_registry(self) -> Path:
        return Path(self.package) / "models" / "registry.py"

    @property
    def routers_registry(self) -> Path:
        return Path(self.package) / "api" / "v1" / "registry.py"

    def spec_path(self, snake: str) -> Path:
        return SPECS_DIR / f"{snake}.json"

    def read(self, relative: PurePath) -> str | None:
        """A file's text, or None when it does not exist."""
        if (key := PurePosixPath(relative)) in self.overlay:
            return self.overlay[key]
        try:
            return (self.root / relative).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as error:
            raise ProjectError(f"{relative}: cannot read it ({error})") from None

    # Entities ---------------------------------------------------------------------

    @cached_property
    def specs(self) -> dict[str, EntitySpec]:
        """Every entity `gen` (or the template) added, by PascalCase name."""
        found: dict[str, EntitySpec] = {}
        for path in self._listed(SPECS_DIR, ".json"):
            try:
                spec = EntitySpec.from_json(self.read(path) or "")
                found[spec.names.pascal] = spec
            except (ValueError, SpecError) as error:
                raise ProjectError(f"{path}: {error}") from None
        return found

    def _listed(self, folder: Path, suffix: str) -> list[PurePosixPath]:
        """The files of `folder` (not below it) whose names end in `suffix`, sorted."""
        here = self.root / folder
        found = {
            PurePosixPath(folder, path.name)
            for path in (here.glob(f"*{suffix}") if here.is_dir() else [])
        }
        for path, text in self.overlay.items():
            if path.parent == PurePosixPath(folder) and path.name.endswith(suffix):
                if text is None:
                    found.discard(path)
                else:
                    found.add(path)
        return sorted(found)

    def facts(self, specs: dict[str, EntitySpec] | None = None) -> ProjectFacts:
        """What the templates know of the project, with `specs` (default: the stored ones)."""
        targets = {
            name: Target.of(spec) for name, spec in (self.specs if specs is None else specs).items()
        }
        return ProjectFacts(package_name=self.package, auth=self.auth, entities=targets)

    def find_spec(self, name: str) -> EntitySpec:
        """An entity's spec by name, in any case (`Book`, `book`, `book_review`)."""
        for spec in self.specs.values():
            if name in {spec.name, spec.names.pascal, spec.names.snake} or (
                name.lower() == spec.names.pascal.lower()
            ):
                return spec
        known = ", ".join(sorted(self.specs)) or "none"
        raise SpecError(f"no entity {name!r} (entities: {known})")

    @property
    def release(self) -> tuple[int, int, int] | None:
        """The fastapi-slices release its template files are at, when `_commit` names one
        (`v0.3.0`; not a commit between releases)."""
        match = re.fullmatch(r"v?(\d+)\.(\d+)\.(\d+)", str(self.answers.get("_commit") or ""))
        return (int(match[1]), int(match[2]), int(match[3])) if match else None

    @property
    def starter_answer(self) -> bool:
        """Whether the answers say the template renders the starter entity."""
        return bool(self.answers.get("starter_entity"))

    def answers_without_starter(self) -> str:
        """The answers file, saying that the starter entity is gone (so no update renders
        it again)."""
        text = self.read(Path(ANSWERS_FILE)) or ""
        changed, count = re.subn(
            r"^starter_entity: true$", "starter_entity: false", text, flags=re.MULTILINE
        )
        if count != 1:
            raise ProjectError(f"{ANSWERS_FILE}: cannot find `starter_entity: true` to change")
        return changed

    # Git ----------------------------------------------------------------------------

    def committed(self, folder: PurePosixPath) -> set[PurePosixPath]:
        """The files under `folder` that the last commit holds (none outside git)."""
        try:
            result = subprocess.run(
                ["git", "ls-tree", "-r", "--name-only", "--full-name", "HEAD", "--", str(folder)],
                cwd=self.root,
                capture_output=True,
                text=True,
                check=False,
            )
        except FileNotFoundError:
            return set()
        if result.returncode != 0:  # not a repository, or no commit yet
            return set()
        prefix = self._git_prefix()
        return {PurePosixPath(line.removeprefix(prefix)) for line in result.stdout.splitlines()}

    def _git_prefix(self) -> str:
        """The project folder inside its repository (`""` at the top, `services/api/`...)."""
        result = subprocess.run(
            ["git", "rev-parse", "--show-prefix"],
            cwd=self.root,
            capture_output=True,
            text=True,
            check=False,
        )
        return result.stdout.strip() if result.returncode == 0 else ""

    # Migrations -------------------------------------------------------------------

    @cached_property
    def revisions(self) -> list[Revision]:
        if not (self.root / MIGRATIONS_DIR).is_dir():
            raise ProjectError(f"{MIGRATIONS_DIR} is missing")
        return [
            _read_revision(path, self.read(path) or "")
            for path in self._listed(MIGRATIONS_DIR, ".py")
        ]

    def heads(self) -> list[str]:
        """Revisions no other revision builds on."""
        below = {down for item in self.revisions for down in item.down_revisions}
        return sorted(item.revision for item in self.revisions if item.revision not in below)

    def single_head(self) -> str | None:
        """The one head new migrations build on (None for an empty history)."""
        heads = self.heads()
        if len(heads) > 1:
            raise ProjectError(
                f"Alembic has {len(heads)} heads ({', '.join(heads)}); "
                "merge them first: alembic merge heads -m merge"
            )
        return heads[0] if heads else None


def _read_answers(path: Path) -> dict[str, Any]:
    try:
        answers = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        reason = str(error).splitlines()[0]
        raise ProjectError(f"{ANSWERS_FILE} is unreadable: {reason}") from None
    if not isinstance(answers, dict):
        raise ProjectError(f"{ANSWERS_FILE} is not a mapping of answers")
    missing = [key for key in REQUIRED_ANSWERS if key not in answers]
    if missing:
        raise ProjectError(
            f"{ANSWERS_FILE} lacks {', '.join(missing)}: "
            "not rendered from the fastapi-slices template?"
        )
    package = answers["package_name"]
    if not isinstance(package, str) or not package.isidentifier():
        raise ProjectError(f"{ANSWERS_FILE}: package_name {package!r} is not a Python name")
    if not isinstance(answers["auth"], bool):
        raise ProjectError(f"{ANSWERS_FILE}: auth must be true or false")
    if not (path.parent / package).is_dir():
        raise ProjectError(
            f"{ANSWERS_FILE} names the package {package!r}, but {package}/ is missing"
        )
    return answers


def _read_revision(relative: PurePosixPath, text: str) -> Revision:
    """`revision` and `down_revision` of a migration, read with `ast`."""
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        raise ProjectError(f"{relative}: cannot read it ({type(error).__name__})") from None
    values: dict[str, Any] = {}
    for node in tree.body:
        target = (
            node.target
            if isinstance(node, ast.AnnAssign)
            else (
                node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
            )
        )
        if isinstance(target, ast.Name) and target.id in {"revision", "down_revision"}:
            assert isinstance(node, ast.Assign | ast.AnnAssign)
            try:
                values[target.id] = ast.literal_eval(node.value) if node.value else None
            except ValueError:
                raise ProjectError(f"{relative}: {target.id} is not a literal") from None
    revision = values.get("revision")
    if not isinstance(revision, str):
        raise ProjectError(f"{relative}: no revision identifier")
    down = values.get("down_revision")
    downs = (down,) if isinstance(down, str) else tuple(down or ())
    return Revision(path=Path(relative), revision=revision, down_revisions=downs)
