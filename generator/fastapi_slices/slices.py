"""Plans for adding and removing an entity slice: pure functions of the project's files."""

import uuid
from dataclasses import replace
from datetime import datetime
from pathlib import PurePosixPath

from fastapi_slices import registry
from fastapi_slices.errors import ProjectError, SpecError
from fastapi_slices.formatting import format_python
from fastapi_slices.plan import Action, Plan, decide
from fastapi_slices.project import Project
from fastapi_slices.render import render_slice
from fastapi_slices.spec import EntitySpec, Migration, build_context

# Route modules and tables the template itself uses.
RESERVED_PLURALS = frozenset({"auth", "deps", "health", "registry", "router", "users"})


def _same_request(a: EntitySpec, b: EntitySpec) -> bool:
    return replace(a, migration=None) == replace(b, migration=None)


def new_migration(project: Project, spec: EntitySpec, now: datetime) -> Migration:
    """The migration of a new entity: on top of the single head, named for `now` (UTC)."""
    return Migration(
        revision=uuid.uuid4().hex[-12:],
        down_revision=project.single_head(),
        created=now.strftime("%Y-%m-%d %H:%M:%S+00:00"),
        filename=f"{now:%Y%m%d_%H%M}_create_{spec.names.table}_table.py",
    )


def _check_new_entity(project: Project, spec: EntitySpec) -> None:
    names = spec.names
    if names.plural in RESERVED_PLURALS or names.table in RESERVED_PLURALS:
        raise SpecError(
            f"entity name {spec.name!r}: {names.plural!r} is reserved; "
            "pass another with --plural/--table"
        )
    for other in project.specs.values():
        if other.names.snake == names.snake:
            raise SpecError(f"entity {other.name!r} exists already")
        if other.names.table == names.table or other.names.plural == names.plural:
            raise SpecError(
                f"entity {other.name!r} already uses {names.plural!r}; "
                "pass another with --plural/--table"
            )


def entity_plan(project: Project, request: EntitySpec, *, now: datetime, force: bool) -> Plan:
    """Everything `gen entity` writes, decided before anything is written."""
    existing = project.specs.get(request.names.pascal)
    if existing is not None:
        if not _same_request(existing, request):
            raise SpecError(
                f"entity {existing.name!r} exists with other fields or options; "
                f"`gen destroy {existing.name}` first"
            )
        spec = existing  # the same request again: the same files, so all `identical`
    else:
        _check_new_entity(project, request)
        build_context(request, project.facts())  # refuse a bad spec before touching migrations
        spec = replace(request, migration=new_migration(project, request, now))
    files = render_slice(spec, project.facts())
    assert spec.migration is not None
    migration_path = next(path for path in files if path.name == spec.migration.filename)
    if existing is None and project.read(migration_path) is not None:
        raise ProjectError(f"{migration_path} exists already; wait a minute and run gen again")
    files |= _registries(project, spec, adding=True)
    plan = Plan()
    for path, text in format_python(files, project.root).items():
        is_registry = path in {_posix(project.models_registry), _posix(project.routers_registry)}
        plan.add(
            decide(
                path,
                project.read(path),
                text,
                force=force,
                verb="inject" if is_registry else "create",
            )
        )
    return plan


def destroy_plan(project: Project, name: str, *, force: bool) -> Plan:
    """Everything `gen destroy` removes: exactly what `gen entity` added."""
    spec = project.specs.get(name) or next(
        (s for s in project.specs.values() if name in {s.names.snake, s.name}), None
    )
    if spec is None:
        known = ", ".join(sorted(project.specs)) or "none"
        raise SpecError(f"no entity {name!r} (entities: {known})")
    for other in project.specs.values():
        if any(f.is_ref and f.target == spec.names.pascal for f in other.parsed_fields().items):
            raise SpecError(f"{other.name} refers to {spec.names.pascal}; destroy it first")
    assert spec.migration is not None
    built_on = [
        r.path.name for r in project.revisions if spec.migration.revision in r.down_revisions
    ]
    if built_on:
        raise ProjectError(
            f"migration {spec.migration.filename} has later migrations "
            f"({', '.join(built_on)}); remove those first"
        )
    expected = format_python(render_slice(spec, project.facts()), project.root)
    plan = Plan()
    for path, text in expected.items():
        current = project.read(path)
        if current is not None and current != text and not force:
            note = "changed since gen wrote it; --force removes it"
            plan.add(Action("conflict", path, current, None, note=note))
        else:
            plan.add(decide(path, current, None, force=force))
    registries = format_python(_registries(project, spec, adding=False), project.root)
    for path, text in registries.items():
        plan.add(decide(path, project.read(path), text, force=force, verb="remove"))
    return plan


def _posix(path: object) -> PurePosixPath:
    return PurePosixPath(str(path))


def _registries(project: Project, spec: EntitySpec, *, adding: bool) -> dict[PurePosixPath, str]:
    """The two registries with the entity added (or removed)."""
    names, package = spec.names, project.package
    changed: dict[PurePosixPath, str] = {}
    models, routers = _posix(project.models_registry), _posix(project.routers_registry)
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
