"""The domain in one file: `gen apply` makes the project's entities what a YAML file says, and
`gen export` writes that file from the stored specs.

A domain file holds `entities:`, each by name with its `fields:` and options; `gen apply
--help` shows one (the example lives there, once).

Each entity takes the options of `gen entity` (`owned`, `open_writes`, `timestamps`,
`plural`, `table`) and its fields in the same grammar, one token each. Applying creates the
entities that are missing, in the order their references need, and changes those that differ
through the same path as `gen entity` (three-way merges, one migration per change): one plan,
written all or nothing. Applying the same file again changes nothing. Entities of the project
that the file does not name are left alone (and named in a note); renaming a field is
`gen field rename`.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import PurePosixPath

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fastapi_slices.errors import SpecError
from fastapi_slices.plan import Action, Plan, decide
from fastapi_slices.project import Project
from fastapi_slices.slices import entity_plan
from fastapi_slices.spec import EntitySpec

SCHEMA_PATH = PurePosixPath(".gen/domain.schema.json")
SCHEMA_LINE = f"# yaml-language-server: $schema={SCHEMA_PATH}"


class EntityEntry(BaseModel):
    """One entity: what `gen entity` takes."""

    model_config = ConfigDict(extra="forbid", title="Entity")

    fields: list[str] = Field(
        min_length=1,
        description="name:type[?][:modifier[=value]]..., as gen entity takes them",
        examples=[["title:str:max=200:index", "author:ref=Author"]],
    )
    owned: bool = Field(default=False, description="Rows belong to their creator")
    open_writes: bool | None = Field(
        default=None,
        description="Rows not owned: every user may write them (true), or superusers only "
        "(false); unset: as the entity has it, superusers only for a new one",
    )
    timestamps: bool = Field(default=True, description="created_at and updated_at")
    plural: str | None = Field(default=None, description="When English rules get it wrong")
    table: str | None = Field(default=None, description="Default: the plural")


class Domain(BaseModel):
    """A fastapi-slices domain: the entities of a project, by PascalCase name."""

    model_config = ConfigDict(extra="forbid", title="fastapi-slices domain")

    entities: dict[str, EntityEntry]

    def specs(self, existing: Mapping[str, EntitySpec] | None = None) -> dict[str, EntitySpec]:
        """The entities as specs; where `open_writes` is unset, the rule of the `existing`
        entity of that name, if any."""
        found: dict[str, EntitySpec] = {}
        for name, entry in self.entities.items():
            spec = EntitySpec(name=name, **entry.model_dump(exclude={"open_writes"}))
            pascal = spec.names.pascal  # checks the name
            if pascal in found:
                raise SpecError(f"entity {name!r} is given twice (as {pascal})")
            open_writes = entry.open_writes
            if open_writes is None:
                before = (existing or {}).get(pascal)
                open_writes = before is not None and before.open_writes
            found[pascal] = replace(spec, open_writes=open_writes)
        return found


def schema_text() -> str:
    """The JSON Schema of domain files, for editors to validate and complete them."""
    return json.dumps(Domain.model_json_schema(), indent=2) + "\n"


def schema_action(project: Project) -> Action:
    """Write the JSON Schema beside the specs, where the files `gen export` writes name it."""
    return decide(SCHEMA_PATH, project.read(SCHEMA_PATH), schema_text(), force=True)


def parse(text: str, source: str) -> Domain:
    """The domain a file holds; a file that is not one gets one line saying where."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "not YAML"
        hint = ""
        if "'?'" in problem:  # `[bio:text?]`: in a [ ] list, YAML reads ? as a key mark
            hint = "; write the fields one `- name:type?` a line, or quote them"
        raise SpecError(f"{source}{where}: {problem}{hint}") from None
    try:
        return Domain.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"]) or "the file"
        raise SpecError(f"{source}: {location}: {first['msg']}") from None


def export(specs: Iterable[EntitySpec]) -> str:
    """The domain file of `specs`, in the order they were made (each after those it refers
    to); options only when not the default."""
    made = sorted(specs, key=lambda spec: spec.migration.created if spec.migration else "")
    ordered = creation_order({spec.names.pascal: spec for spec in made})
    defaults = EntityEntry(fields=["x:str"])
    entities: dict[str, dict[str, object]] = {}
    for spec in ordered:
        entry: dict[str, object] = {"fields": list(spec.fields)}
        for option in ("owned", "timestamps", "plural", "table"):
            value = getattr(spec, option)
            if value != getattr(defaults, option):
                entry[option] = value
        if spec.open_writes:  # unset reads as "as it is": written only when it opens writes
            entry["open_writes"] = True
        entities[spec.names.pascal] = entry
    body = yaml.safe_dump({"entities": entities}, sort_keys=False, width=100)
    return f"{SCHEMA_LINE}\n{body}"


def creation_order(specs: Mapping[str, EntitySpec]) -> list[EntitySpec]:
    """`specs` with every entity after those it refers to; a cycle is refused."""
    ordered: list[EntitySpec] = []
    state: dict[str, str] = {}  # "visiting" or "done"

    def visit(spec: EntitySpec, path: list[str]) -> None:
        name = spec.names.pascal
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = " -> ".join([*path[path.index(name) :], name])
            raise SpecError(f"references go round in a circle: {cycle}")
        state[name] = "visiting"
        for item in spec.parsed_fields().items:
            if item.refers and item.target in specs and item.target != name:  # a tree: itself
                visit(specs[item.target], [*path, name])
        state[name] = "done"
        ordered.append(spec)

    for spec in specs.values():
        visit(spec, [])
    return ordered


def apply_plan(project: Project, domain: Domain, *, now: datetime) -> Plan:
    """Everything applying `domain` writes, as one plan: each entity planned on the project as
    the entities before it leave it."""
    wanted = domain.specs(project.specs)
    steps: list[Plan] = []
    current = project
    for request in creation_order(wanted):
        step = entity_plan(current, request, now=now, force=False)
        if step.conflicts:
            steps.append(step)
            break  # the plan fails on its conflicts; later entities would build on them
        steps.append(step)
        current = current.with_changes({a.path: a.after for a in step.changes})
    plan = _combined(project, steps)
    left = sorted(set(project.specs) - set(wanted))
    if left:
        plan.notes.append(f"not in the file, left as they are: {', '.join(left)}")
    return plan


def _combined(project: Project, steps: list[Plan]) -> Plan:
    """One plan taking each file from what it is on disk to what the last step leaves."""
    plan = Plan()
    last: dict[PurePosixPath, Action] = {}
    for step in steps:
        plan.notes += [note for note in step.notes if note not in plan.notes]
        for action in step.actions:
            if action.changes or action.verb == "conflict" or action.path not in last:
                last[action.path] = action
    for path, action in last.items():
        before = project.read(path)
        if action.verb == "conflict":
            plan.add(replace(action, before=before))
        elif before == action.after:
            plan.add(replace(action, verb="identical", before=before))
        elif before is None:
            plan.add(replace(action, verb="create", before=None))
        elif action.after is None:
            plan.add(replace(action, verb="remove", before=before))
        else:
            plan.add(replace(action, before=before))
    return plan
