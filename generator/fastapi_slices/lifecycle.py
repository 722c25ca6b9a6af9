"""A project's life around Copier: `gen new`, `gen update` and `gen check`.

Who owns what, so that `copier update` never fights `gen`:
- the template owns what it renders (core, auth, the starter entity, its own migrations);
  an update merges its changes into those files;
- the project owns the two registries (`_skip_if_exists` in copier.yml: rendered once, never
  updated), `.env`, and everything `gen entity` writes, which the template never renders;
- the migration history is shared: a template release may add a migration on top of its own
  previous one while the project's `gen` migrations grew from that same revision, which leaves
  two heads. `gen update` (and `gen check --fix`) then writes an empty merge revision, so
  `alembic upgrade head` keeps working.
"""

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
import yaml

from fastapi_slices import __version__, registry
from fastapi_slices.bundled import bundled_source, refresh, template_home
from fastapi_slices.errors import GenError, ProjectError
from fastapi_slices.formatting import format_python
from fastapi_slices.git import git
from fastapi_slices.plan import Action, Plan
from fastapi_slices.project import ANSWERS_FILE, MIGRATIONS_DIR, Project
from fastapi_slices.render import PACKAGE_PARENT

MIGRATION_NAME = re.compile(r"^\d{8}_\d{4}_[a-z0-9_]+\.py$")
CONFLICT_MARKER = re.compile(r"^(<<<<<<<|>>>>>>>) ", re.MULTILINE)
MERGE_TEMPLATE = PACKAGE_PARENT / "fastapi_slices" / "templates" / "merge.py.jinja"


def default_template_source() -> str | None:
    """This checkout of fastapi-slices, when gen runs from one (an editable install)."""
    root = PACKAGE_PARENT.parent
    return str(root) if (root / "copier.yml").is_file() and (root / ".git").exists() else None


def _run_copier(doing: str, operation: Callable[..., Any], *args: Any, **options: Any) -> None:
    """Run a Copier operation quietly, trusting nothing, ignoring the user's Copier settings;
    its errors become one line."""
    from copier import Settings  # noqa: PLC0415 - copier takes half a second to import
    from copier.errors import CopierError  # noqa: PLC0415

    try:
        operation(*args, quiet=True, unsafe=False, settings=Settings(), **options)
    except (CopierError, ValueError) as error:
        raise GenError(f"copier could not {doing}: {_first_line(error)}") from None


def new_project(
    destination: Path,
    *,
    template: str | None,
    vcs_ref: str | None,
    answers: dict[str, str],
    defaults: bool,
) -> None:
    """Render a new project; the source is stored absolute, so that updates keep working."""
    from copier import run_copy  # noqa: PLC0415

    source = template or default_template_source()
    if source is None and (bundled := bundled_source()) is not None:
        source, vcs_ref = bundled[0], vcs_ref or bundled[1]
    if source is None:
        raise GenError("no template: pass --template with a path or git URL of fastapi-slices")
    if "://" not in source and not source.startswith(("gh:", "gl:", "git@")):
        source = str(Path(source).expanduser().resolve())
    if destination.exists() and any(destination.iterdir()):
        raise GenError(f"{destination} exists and is not empty")
    _run_copier(
        "render the project",
        run_copy,
        source,
        destination,
        data=answers,
        defaults=defaults,
        vcs_ref=vcs_ref,
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _git(root: Path, *arguments: str) -> str:
    return git(root, *arguments, needed_to="check and update the project")


@dataclass(frozen=True)
class UpdateResult:
    conflicts: list[str]  # files that need a human: conflict markers, *.rej
    changes: Plan  # slices merged into this release, the merge revision of migration heads


def update_project(project: Project, *, vcs_ref: str | None, now: datetime) -> UpdateResult:
    """Bring the project to the template's newer version and every slice to this release of
    gen; report what needs a human."""
    from copier import run_update  # noqa: PLC0415

    if _git(project.root, "status", "--porcelain"):
        raise ProjectError("the project has uncommitted changes; commit or stash them first")
    release = project.answers.get("_commit")
    if str(project.answers.get("_src_path")) == str(template_home()):
        refresh(template_home())  # the releases up to this gen's, for Copier to find
    _run_copier(
        "update the project",
        run_update,
        project.root,
        defaults=True,
        overwrite=True,
        conflict="inline",
        vcs_ref=vcs_ref,
    )
    updated = Project.find(project.root)
    conflicts = set(_unmerged(updated.root)) | set(_marked(updated.root))
    changes = fix_plan(updated, release=release, now=now)
    if "pyproject.toml" in _git(updated.root, "diff", "--name-only").splitlines():
        changes.notes.append(
            "pyproject.toml changed: refresh your environment and lock file (`uv sync`, which "
            "updates uv.lock; or `uv lock`)"
        )
    changes.apply(updated.root)
    conflicts |= {str(action.path) for action in changes.unmerged}
    return UpdateResult(conflicts=sorted(conflicts), changes=changes)


def fix_plan(project: Project, *, release: str | None, now: datetime) -> Plan:
    """Every slice merged into this release of gen, and one migration head.

    `release` is the one the project came from: older releases kept no base copies, so gen
    at that release renders their slices' base again (`legacy.py`).
    """
    from fastapi_slices.legacy import legacy_bases  # noqa: PLC0415
    from fastapi_slices.slices import refresh_plan  # noqa: PLC0415

    specs = list(project.specs.values())
    legacy = [spec for spec in specs if spec.is_legacy]
    if legacy and not release:
        raise ProjectError(f"{ANSWERS_FILE} has no _commit: gen cannot tell which release wrote it")
    bases = legacy_bases(project, legacy, release) if legacy and release else {}
    plan = refresh_plan(project, specs, bases)
    heads = merge_heads_plan(project, now=now)
    if heads is not None:
        plan.extend(heads)
    return plan


def release_before_update(project: Project) -> str | None:
    """The release the project came from: `_commit` as last committed, when a plain `copier
    update` changed it since; else as it is."""
    current = project.answers.get("_commit")
    try:
        prefix = _git(project.root, "rev-parse", "--show-prefix").strip()
        committed = yaml.safe_load(_git(project.root, "show", f"HEAD:{prefix}{ANSWERS_FILE}"))
    except (GenError, yaml.YAMLError):
        return str(current) if current else None
    before = committed.get("_commit") if isinstance(committed, dict) else None
    return str(before or current) if (before or current) else None


def _unmerged(root: Path) -> list[str]:
    """Files git holds in conflict, and patches Copier could not apply (*.rej)."""
    found = [line.split("\t", 1)[1] for line in _git(root, "ls-files", "-u").splitlines()]
    return found + [
        str(path.relative_to(root)) for path in root.rglob("*.rej") if ".git" not in path.parts
    ]


def _marked(root: Path) -> list[str]:
    """Changed files that hold inline conflict markers."""
    changed = _git(root, "diff", "--name-only").splitlines()
    found = []
    for name in changed:
        path = root / name
        if path.is_file():
            try:
                if CONFLICT_MARKER.search(path.read_text(encoding="utf-8")):
                    found.append(name)
            except UnicodeDecodeError:
                continue
    return found


def merge_heads_plan(project: Project, *, now: datetime) -> Plan | None:
    """An empty revision joining every head into one, or None when there is one head."""
    heads = project.heads()
    if len(heads) < 2:
        return None
    revision = uuid.uuid4().hex[-12:]
    name = PurePosixPath(str(MIGRATIONS_DIR)) / f"{now:%Y%m%d_%H%M}_merge_heads.py"
    if project.read(name) is not None:
        raise ProjectError(f"{name} exists already; wait a minute and run gen again")
    environment = jinja2.Environment(
        keep_trailing_newline=True,
        autoescape=False,
        undefined=jinja2.StrictUndefined,
    )
    text = environment.from_string(MERGE_TEMPLATE.read_text()).render(
        revision=revision, heads=heads, created=now.strftime("%Y-%m-%d %H:%M:%S+00:00")
    )
    formatted = format_python({name: text}, project.root)[name]
    return Plan([Action("create", name, None, formatted, note=f"joins {', '.join(heads)}")])


def check_project(project: Project) -> list[str]:
    """Every way the project has drifted from what gen and Alembic expect; empty when sound."""
    problems: list[str] = []
    for key in ("_src_path", "_commit"):
        if not project.answers.get(key):
            problems.append(f"{ANSWERS_FILE}: no {key}; `copier update` cannot work")
    problems += _source_problems(project)
    heads = project.heads()
    if len(heads) > 1:
        problems.append(
            f"alembic: {len(heads)} heads ({', '.join(heads)}); `gen check --fix` joins them"
        )
    for revision in project.revisions:
        if not MIGRATION_NAME.match(revision.path.name):
            problems.append(f"{revision.path}: not named yyyymmdd_HHmm_<slug>.py")
    known = {revision.revision for revision in project.revisions}
    for revision in project.revisions:
        for down in revision.down_revisions:
            if down not in known:
                problems.append(
                    f"{revision.path}: builds on revision {down}, which no migration is"
                )
    problems += _registry_problems(project)
    from fastapi_slices.slices import stale_slices  # noqa: PLC0415

    problems += [
        f"{reason}; `gen check --fix` merges gen {__version__} into it"
        for reason in stale_slices(project)
    ]
    return problems


def _source_problems(project: Project) -> list[str]:
    """A local template source must hold the commit the project records (a URL is not read:
    that needs the network)."""
    source, commit = project.answers.get("_src_path"), project.answers.get("_commit")
    if not source or not commit or "://" in str(source) or str(source).startswith(("gh:", "gl:")):
        return []
    folder = Path(str(source))
    if not folder.is_dir():
        return [f"{ANSWERS_FILE}: _src_path {source} is not a folder; `copier update` cannot work"]
    try:
        _git(folder, "rev-parse", "--quiet", "--verify", f"{commit}^{{commit}}")
    except GenError:
        return [f"{ANSWERS_FILE}: _commit {commit} is no commit of {source}"]
    return []


def _registry_problems(project: Project) -> list[str]:
    """Each entity spec must be registered and its files present."""
    from fastapi_slices.context import build_context  # noqa: PLC0415
    from fastapi_slices.render import slice_paths  # noqa: PLC0415

    problems: list[str] = []
    models = project.read(project.models_registry)
    routers = project.read(project.routers_registry)
    if models is None or routers is None:
        missing = project.models_registry if models is None else project.routers_registry
        return [f"{missing}: missing; restore it from the template"]
    for spec in project.specs.values():
        names = spec.names
        model_module = f"{project.package}.models.{names.snake}"
        if (
            registry.add_model(models, str(project.models_registry), model_module, names.pascal)
            != models
        ):
            problems.append(f"{project.models_registry}: {names.pascal} is not registered")
        if (
            registry.add_router(
                routers, str(project.routers_registry), f"{project.package}.api.v1", names.plural
            )
            != routers
        ):
            problems.append(f"{project.routers_registry}: {names.plural} router not registered")
        for path in slice_paths(build_context(spec, project.facts())).values():
            if project.read(path) is None:
                problems.append(f"{path}: missing, though entity {names.pascal} lists it")
    return problems
