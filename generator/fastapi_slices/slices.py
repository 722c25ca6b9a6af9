"""Plans for entity slices: add one, change one, bring every one to this release, remove one.

Every plan is a pure function of the project's files and the request: specs are rendered in
memory, formatted, merged three ways with the files on disk, and only then written (all or
nothing, by `Plan.apply`). A slice's living files (model, schemas, repository, service,
routes, factory, tests) are merged: base = gen's copy of what it last wrote, in
`.gen/base/<entity>/`; theirs = the new rendering; ours = the file with the user's edits.
Migrations are history: gen adds them, and deletes only its own that no database can have
run yet.
"""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import PurePosixPath

from fastapi_slices import __version__, readme, registry
from fastapi_slices.changes import FieldChange, SpecChange
from fastapi_slices.context import SliceContext, build_context, check_spec, entity_table
from fastapi_slices.errors import ProjectError, SpecError
from fastapi_slices.fields import Field
from fastapi_slices.formatting import format_python
from fastapi_slices.imports import Imports
from fastapi_slices.merge import merge
from fastapi_slices.naming import is_regular_plural
from fastapi_slices.plan import Action, Plan, decide
from fastapi_slices.project import ANSWERS_FILE, MIGRATIONS_DIR, Project
from fastapi_slices.render import LIVING, base_path, render_slice, render_template, slice_paths
from fastapi_slices.spec import EntitySpec, Migration, ProjectFacts

# Route modules and tables the template itself uses.
RESERVED_PLURALS = frozenset({"auth", "deps", "health", "registry", "router", "users"})
VERSIONS = PurePosixPath(str(MIGRATIONS_DIR))


@dataclass(frozen=True)
class Rendered:
    """A spec's slice as gen writes it: each template's file, where it goes."""

    spec: EntitySpec
    context: SliceContext
    paths: dict[str, PurePosixPath]  # by template name
    texts: dict[str, str]  # by template name (formatted, once render_specs returns)

    def base(self, template: str) -> PurePosixPath:
        return base_path(self.context.entity.snake, template)


def render_specs(
    project: Project,
    specs: Iterable[EntitySpec],
    facts: ProjectFacts,
    extra: Mapping[PurePosixPath, str] | None = None,
) -> tuple[list[Rendered], dict[PurePosixPath, str]]:
    """The slices of `specs` (of distinct entities), and `extra` files, formatted in one go."""
    unformatted: list[Rendered] = []
    files: dict[PurePosixPath, str] = dict(extra or {})
    for spec in specs:
        context = build_context(spec, facts)
        rendered = Rendered(spec, context, slice_paths(context), render_slice(context))
        files |= {rendered.paths[template]: text for template, text in rendered.texts.items()}
        unformatted.append(rendered)
    formatted = format_python(files, project.root)
    renders = [
        replace(item, texts={template: formatted[item.paths[template]] for template in item.texts})
        for item in unformatted
    ]
    return renders, {path: formatted[path] for path in extra or {}}


def _new_migration(project: Project, slug: str, now: datetime) -> Migration:
    """A migration on top of the single head, named for `now` (UTC) and never overwriting."""
    stamp = f"{now:%Y%m%d_%H%M}"
    filename = f"{stamp}_{slug}.py"
    number = 1
    while project.read(VERSIONS / filename) is not None:
        number += 1
        filename = f"{stamp}_{slug}_{number}.py"
    return Migration(
        revision=uuid.uuid4().hex[-12:],
        down_revision=project.single_head(),
        created=now.strftime("%Y-%m-%d %H:%M:%S+00:00"),
        filename=filename,
    )


def _existing(project: Project, request: EntitySpec) -> EntitySpec | None:
    snake = request.names.snake
    return next((spec for spec in project.specs.values() if spec.names.snake == snake), None)


def with_writes(project: Project, request: EntitySpec, open_writes: bool | None) -> EntitySpec:
    """`request` with who may write its rows: as asked, else as the entity has it (so that
    changing its fields never changes that), else superusers only (`open_writes` false)."""
    if open_writes is None:
        existing = _existing(project, request)
        open_writes = existing is not None and existing.open_writes
    return replace(request, open_writes=open_writes)


# Adding ---------------------------------------------------------------------------------


def entity_plan(
    project: Project,
    request: EntitySpec,
    *,
    now: datetime,
    force: bool,
    renames: Mapping[str, str] | None = None,
    backfills: Mapping[str, str] | None = None,
) -> Plan:
    """Everything `gen entity` writes: a new slice, or the change of an existing one."""
    existing = _existing(project, request)
    _check_new_tokens(request, existing, renames or {})
    if existing is not None:
        return change_plan(
            project, existing, request, now=now, renames=renames or {}, backfills=backfills or {}
        )
    if renames or backfills:
        raise SpecError(f"--rename and --backfill change an existing entity; {request.name} is new")
    _check_new_entity(project, request)
    facts = project.facts()
    check_spec(request, facts)  # before the migration, which needs one head
    spec = replace(
        request,
        name=request.names.pascal,
        migration=_new_migration(project, f"create_{request.names.table}_table", now),
    )
    indexes = _registries(project, spec, adding=True) | _readme(
        project, [*project.specs.values(), spec]
    )
    [rendered], registries = render_specs(project, [spec], facts, indexes)
    plan = Plan(notes=_release_notes(project) + _plural_notes(request))
    for template, path in rendered.paths.items():
        plan.add(decide(path, project.read(path), rendered.texts[template], force=force))
    for path, text in registries.items():
        plan.add(decide(path, project.read(path), text, force=force, verb="inject"))
    for template in LIVING:  # gen's own records last
        base = rendered.base(template)
        plan.add(decide(base, project.read(base), rendered.texts[template], force=True))
    return plan


def _check_new_tokens(
    request: EntitySpec, existing: EntitySpec | None, renames: Mapping[str, str]
) -> None:
    """Refuse modifiers that change nothing in the tokens given now; a token the stored spec
    holds already (renamed or not) was accepted by the gen that wrote it, and keeps its meaning."""
    kept: set[str] = set()
    for item in existing.parsed_fields().items if existing else ():
        kept |= {item.token, item.renamed(renames.get(item.name, item.name)).token}
    for item in request.parsed_fields().items:
        if item.token not in kept:
            item.check_modifiers_matter()


def _release_notes(project: Project) -> list[str]:
    """A project of an older release lacks what this gen's slices use (test fixtures...)."""
    mine = tuple(int(part) for part in __version__.split(".")[:3])
    if project.release is None or project.release >= mine:
        return []
    release = ".".join(map(str, project.release))
    return [
        f"the project's template files are of fastapi-slices {release}, and this gen is "
        f"{__version__}: `gen update` brings them to the release of the slices it writes"
    ]


def _plural_notes(request: EntitySpec) -> list[str]:
    """A plural that is not the word with -s or -es: say it, in case the rules got it wrong."""
    names = request.names
    word, plural = names.snake.split("_")[-1], names.plural.split("_")[-1]
    if request.plural or is_regular_plural(word, plural):
        return []
    return [
        f"{names.pascal}: the plural is {names.plural!r} (routes /{names.kebab_plural}, "
        f"table {names.table}); if that is wrong, run gen again with --plural"
    ]


def _check_new_entity(project: Project, spec: EntitySpec) -> None:
    names = spec.names
    if names.plural in RESERVED_PLURALS or names.table in RESERVED_PLURALS:
        raise SpecError(
            f"entity name {spec.name!r}: {names.plural!r} is reserved; "
            "pass another with --plural/--table"
        )
    for other in project.specs.values():
        if other.names.table == names.table or other.names.plural == names.plural:
            raise SpecError(
                f"entity {other.name!r} already uses {names.plural!r}; "
                "pass another with --plural/--table"
            )


# Changing -------------------------------------------------------------------------------


def change_plan(
    project: Project,
    old: EntitySpec,
    request: EntitySpec,
    *,
    now: datetime,
    renames: Mapping[str, str],
    backfills: Mapping[str, str],
) -> Plan:
    """Change an entity's fields: its living files merged, a migration that alters the table."""
    if old.is_legacy:
        raise SpecError(
            f"{old.name} was written by an older gen: run `gen update` (or `gen check --fix` "
            "after `copier update`) first, so that its files follow this release"
        )
    _check_same_options(old, request)
    changes, fields = _pair_fields(old, request, renames)
    if not changes:  # the same table: only who may write, or a newer gen, changes the files
        return refresh_plan(project, [replace(old, open_writes=request.open_writes)])
    new = replace(old.current(), fields=fields, open_writes=request.open_writes)
    facts = project.facts()
    change = SpecChange(
        old_table=entity_table(old, facts),
        new_table=entity_table(new, facts),
        changes=tuple(changes),
        backfills=dict(backfills),
    )
    change.check()
    migration = _new_migration(project, change.slug, now)
    new = replace(new, changes=(*old.changes, migration))
    migration_path = VERSIONS / migration.filename
    text = _change_migration(project, new, change, migration)
    [rendered], extra = render_specs(project, [new], facts, {migration_path: text})
    plan = _merge_slice(project, rendered, _bases(project, old, facts))
    plan.notes += _release_notes(project)
    plan.add(Action("create", migration_path, None, extra[migration_path], note=change.summary))
    others = [spec for spec in project.specs.values() if spec.names.pascal != new.names.pascal]
    for path, readme_text in _readme(project, [*others, new]).items():
        plan.add(decide(path, project.read(path), readme_text, force=True, verb="update"))
    return plan


def _check_same_options(old: EntitySpec, request: EntitySpec) -> None:
    """Options that name the table, its owners or its columns cannot change in place."""
    fixed = (
        ("--owned", old.owned, request.owned),
        ("--timestamps", old.timestamps, request.timestamps),
        ("--plural", old.names.plural, request.names.plural),
        ("--table", old.names.table, request.names.table),
    )
    for option, was, asked in fixed:
        if was != asked:
            raise SpecError(
                f"{old.name}: {option} cannot change on an existing entity (it is {was!r}); "
                f"`gen destroy {old.name}` and generate it again, or keep {option} as it is"
            )


def _pair_fields(
    old: EntitySpec, request: EntitySpec, renames: Mapping[str, str]
) -> tuple[list[FieldChange], list[str]]:
    """What changes, field by field, and the new field tokens: kept fields stay in their
    place (a rename too), added ones come last."""
    before = {item.name: item for item in old.parsed_fields().items}
    after = {item.name: item for item in request.parsed_fields().items}
    for was, becomes in renames.items():
        if was not in before:
            raise SpecError(f"--rename {was}={becomes}: {old.name} has no field {was!r}")
        if becomes not in after:
            raise SpecError(f"--rename {was}={becomes}: the new fields have no {becomes!r}")
        if becomes in before:
            raise SpecError(f"--rename {was}={becomes}: {old.name} has a field {becomes!r} already")
    followed = {name: renames.get(name, name) for name in before}
    changes: list[FieldChange] = []
    tokens: list[str] = []
    for name, item in before.items():
        new = after.get(followed[name])
        if new is None:
            changes.append(FieldChange(item, None))
            continue
        tokens.append(new.token)
        if _meaning(item) != _meaning(new):
            changes.append(FieldChange(item, new))
    for name, item in after.items():
        if name not in followed.values():
            changes.append(FieldChange(None, item))
            tokens.append(item.token)
    return changes, tokens


def _meaning(item: Field) -> Field:
    """A field without the spelling of its token: `a:str:index:max=9` means `a:str:max=9:index`."""
    return replace(item, token="")


def _change_migration(
    project: Project, spec: EntitySpec, change: SpecChange, migration: Migration
) -> str:
    found = Imports(project.package).add("collections.abc", "Sequence").add("sqlalchemy as sa")
    found.add("alembic", "op")
    upgrade, downgrade = change.upgrade(found), change.downgrade(found)
    return render_template(
        "change_migration.py.jinja",
        {
            "title": f"{spec.names.title_plural}: {change.summary}.",
            "migration": migration,
            "imports": found.render(),
            "upgrade": upgrade,
            "downgrade": downgrade,
        },
    )


def _bases(project: Project, spec: EntitySpec, facts: ProjectFacts) -> dict[str, str | None]:
    """What gen last wrote for `spec`'s living files: its base copies (None: it wrote none,
    as for a file a newer release adds to every slice).

    A copy that is missing, of a file that is there, is rendered again when this release
    wrote the spec: the same generator renders the same bytes.
    """
    snake = spec.names.snake
    found = {template: project.read(base_path(snake, template)) for template in LIVING}
    missing = [template for template, text in found.items() if text is None]
    if not missing:
        return dict(found)
    paths = slice_paths(build_context(spec, facts))
    lost = [template for template in missing if project.read(paths[template]) is not None]
    if not lost:
        return dict(found)
    if spec.generator != __version__:
        raise ProjectError(
            f"{base_path(snake, lost[0])} is missing, and gen {spec.generator or '< 0.3'} "
            f"wrote {spec.name}: restore it from git, or `gen destroy {spec.name} --force`"
        )
    [rendered], _ = render_specs(project, [spec], facts)
    return found | {template: rendered.texts[template] for template in lost}


def _merge_slice(project: Project, rendered: Rendered, bases: Mapping[str, str | None]) -> Plan:
    """The living files merged, base copies and spec updated."""
    plan = Plan()
    for template in LIVING:
        path, theirs = rendered.paths[template], rendered.texts[template]
        plan.add(_merged(path, project.read(path), bases[template], theirs))
    for template in LIVING:  # gen's own records last
        base = rendered.base(template)
        plan.add(
            decide(base, project.read(base), rendered.texts[template], force=True, verb="update")
        )
    spec_path = rendered.paths["spec.json.jinja"]
    spec_text = rendered.texts["spec.json.jinja"]
    plan.add(decide(spec_path, project.read(spec_path), spec_text, force=True, verb="update"))
    return plan


def _merged(path: PurePosixPath, ours: str | None, base: str | None, theirs: str) -> Action:
    if base is None:  # gen never wrote this file: a newer release adds it
        if ours is None:
            return Action("create", path, None, theirs)
        base = ""  # and you wrote one there: all of it is yours and all of it gen's
    if ours is None:
        if base == theirs:
            return Action("skip", path, None, None, note="you removed it")
        return Action(
            "skip", path, None, None, note="you removed it; gen's change to it is not applied"
        )
    result = merge(ours, base, theirs)
    if result.text == ours:
        return Action("identical", path, ours, ours)
    if result.conflicts:
        note = f"{result.conflicts} conflict(s): resolve the <<<<<<< markers"
        return Action("unmerged", path, ours, result.text, note=note)
    if ours == base:
        return Action("update", path, ours, result.text)
    return Action("merge", path, ours, result.text, note="your edits kept")


# Following releases ---------------------------------------------------------------------


def refresh_plan(
    project: Project,
    specs: Iterable[EntitySpec],
    legacy_bases: Mapping[str, Mapping[str, str]] | None = None,
) -> Plan:
    """Every slice of `specs` rendered by this release and merged into the project.

    `legacy_bases` holds, by entity, what an older release wrote for specs that kept no base
    copy (`legacy.py` renders them with that release).
    """
    specs = list(specs)
    facts = project.facts()
    renders, _ = render_specs(project, [spec.current() for spec in specs], facts)
    plan = Plan()
    for spec, rendered in zip(specs, renders, strict=True):
        snake = spec.names.snake
        if spec.is_legacy:
            if legacy_bases is None or snake not in legacy_bases:
                raise ProjectError(f"{spec.name}: no base for a spec of an older gen")
            bases = {
                template: legacy_bases[snake].get(str(rendered.paths[template]))
                for template in LIVING
            }
        else:
            bases = _bases(project, spec, facts)
        plan.extend(_merge_slice(project, rendered, bases))
    for path, text in _readme(project, project.specs.values()).items():
        plan.add(decide(path, project.read(path), text, force=True, verb="update"))
    return plan


def stale_slices(project: Project) -> list[str]:
    """Why each slice is not what this release of gen writes for its spec, if it is not."""
    stale = [
        f"{spec.name}: written by gen < 0.3" for spec in project.specs.values() if spec.is_legacy
    ]
    current = [spec for spec in project.specs.values() if not spec.is_legacy]
    renders, _ = render_specs(project, current, project.facts()) if current else ([], {})
    for rendered in renders:
        spec, snake = rendered.spec, rendered.context.entity.snake
        if spec.generator != __version__:
            stale.append(f"{spec.name}: written by gen {spec.generator}")
        elif any(
            project.read(rendered.base(template)) != rendered.texts[template] for template in LIVING
        ):
            stale.append(f"{spec.name}: its copy in .gen/base/{snake}/ is not what gen writes")
    return stale


# Removing -------------------------------------------------------------------------------


def destroy_plan(project: Project, name: str, *, force: bool, now: datetime) -> Plan:
    """Everything `gen destroy` removes: exactly what gen added; a table that a database may
    hold is dropped by a new migration instead of forgetting the one that made it."""
    spec = project.find_spec(name)
    for other in project.specs.values():
        if other.names.pascal == spec.names.pascal:
            continue  # a tree refers to itself: it goes with its table
        if any(f.refers and f.target == spec.names.pascal for f in other.parsed_fields().items):
            raise SpecError(f"{other.name} refers to {spec.names.pascal}; destroy it first")
    if spec.is_legacy:
        raise SpecError(
            f"{spec.name} was written by an older gen: run `gen update` (or `gen check --fix`) "
            "first, so that gen knows which of its files you changed"
        )
    facts = project.facts()
    others = [other for other in project.specs.values() if other.names.pascal != spec.names.pascal]
    indexes = _registries(project, spec, adding=False) | _readme(project, others)
    [rendered], registries = render_specs(project, [spec], facts, indexes)
    bases = _bases(project, spec, facts)
    plan = Plan()
    for template in LIVING:
        path = rendered.paths[template]
        current = project.read(path)
        if current is not None and current != bases[template] and not force:
            note = "changed since gen wrote it; --force removes it"
            plan.add(Action("conflict", path, current, None, note=note))
        else:
            plan.add(decide(path, current, None, force=force))
        base = rendered.base(template)
        plan.add(decide(base, project.read(base), None, force=True))
    spec_path = rendered.paths["spec.json.jinja"]
    plan.add(decide(spec_path, project.read(spec_path), None, force=True))
    for path, text in registries.items():
        plan.add(decide(path, project.read(path), text, force=force, verb="remove"))
    plan.extend(_history_plan(project, spec, rendered.context, now))
    if spec.names.snake == "item" and project.starter_answer:
        # The template rendered this entity: say it is gone, or the next update renders it.
        answers = PurePosixPath(ANSWERS_FILE)
        plan.add(
            Action(
                "update",
                answers,
                project.read(answers),
                project.answers_without_starter(),
                note="starter_entity: false",
            )
        )
    return plan


def _history_plan(project: Project, spec: EntitySpec, context: SliceContext, now: datetime) -> Plan:
    """The entity's migrations go when no database can have run them: none is committed and
    no other migration builds on them. Otherwise a new migration drops the table."""
    own = {migration.revision for migration in spec.migrations}
    files = {VERSIONS / migration.filename for migration in spec.migrations}
    built_on = [
        revision
        for revision in project.revisions
        if revision.revision not in own and own & set(revision.down_revisions)
    ]
    committed = project.committed(VERSIONS) & files
    plan = Plan()
    if not built_on and not committed:
        for path in sorted(files):
            plan.add(decide(path, project.read(path), None, force=True))
        return plan
    migration = _new_migration(project, f"drop_{spec.names.table}_table", now)
    path = VERSIONS / migration.filename
    variables = context.variables() | {"migration": migration}
    text = render_template("drop_migration.py.jinja", variables)
    text = format_python({path: text}, project.root)[path]
    why = "committed" if committed else "other migrations build on it"
    plan.add(
        Action("create", path, None, text, note=f"drops {spec.names.table}: its history is {why}")
    )
    return plan


def _readme(project: Project, specs: Iterable[EntitySpec]) -> dict[PurePosixPath, str]:
    """README.md listing the pages of `specs`, when that changes it."""
    path = PurePosixPath("README.md")
    current = project.read(path)
    if current is None:
        return {}
    text = readme.with_pages(current, specs)
    return {} if text == current else {path: text}


def _registries(project: Project, spec: EntitySpec, *, adding: bool) -> dict[PurePosixPath, str]:
    """The two registries with the entity added (or removed)."""
    names, package = spec.names, project.package
    changed: dict[PurePosixPath, str] = {}
    models = PurePosixPath(str(project.models_registry))
    routers = PurePosixPath(str(project.routers_registry))
    model_source = project.read(project.models_registry)
    router_source = project.read(project.routers_registry)
    if model_source is None or router_source is None:
        missing = models if model_source is None else routers
        raise ProjectError(f"{missing} is missing; restore it from the template")
    model_module = f"{package}.models.{names.snake}"
    if adding:
        changed[models] = registry.add_model(model_source, str(models), model_module, names.pascal)
        changed[routers] = registry.add_router(
            router_source, str(routers), f"{package}.api.v1", names.plural
        )
    else:
        changed[models] = registry.remove_model(model_source, str(models), model_module)
        changed[routers] = registry.remove_router(
            router_source, str(routers), f"{package}.api.v1", names.plural
        )
    return changed
