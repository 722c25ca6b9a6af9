"""`gen`: grow a fastapi-slices project one entity slice at a time."""

import os
import shlex
import shutil
import textwrap
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

import typer
from rich.console import Console

from fastapi_slices import __version__
from fastapi_slices.errors import GenError, SpecError
from fastapi_slices.naming import check_identifier
from fastapi_slices.plan import Plan, Verb
from fastapi_slices.project import MIGRATIONS_DIR, Project
from fastapi_slices.spec import EntitySpec

app = typer.Typer(
    help="Grow a fastapi-slices project one entity slice at a time.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Plain help: it fits 80 columns, and keeps the examples as written.
    rich_markup_mode=None,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

COLOURS: dict[Verb, str] = {
    "create": "green",
    "inject": "yellow",
    "force": "yellow",
    "update": "yellow",
    "merge": "yellow",
    "remove": "red",
    "identical": "blue",
    "skip": "dim",
    "conflict": "bold red",
    "unmerged": "bold red",
}
VERSIONS_FOLDER = PurePosixPath(MIGRATIONS_DIR)
ProjectOption = Annotated[
    Path | None,
    typer.Option("--project", "-p", help="The project folder (default: the one you are in)"),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Print the plan and the diff; write nothing")
]


def _version(asked: bool) -> None:
    if asked:
        out.print(f"gen (fastapi-slices) {__version__}")
        raise typer.Exit


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit"
        ),
    ] = False,
) -> None:
    """Grow a fastapi-slices project one entity slice at a time."""


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", markup=True)
    return typer.Exit(2)


def _show(plan: Plan, *, changes_only: bool = False) -> None:
    for note in plan.notes:
        out.print(f"[bold]{'note':>12}[/]  {note}", markup=True)
    for verb, text in plan.lines():
        if not changes_only or verb not in {"identical", "skip"}:
            out.print(f"[{COLOURS[verb]}]{verb:>12}[/]  {text}", markup=True)


def _carry_out(plan: Plan, project: Project, *, dry_run: bool) -> bool:
    """Show the plan, then apply it unless it is a dry run; False when nothing changes.

    Files merged with conflict markers are written, listed, and make the exit code 1.
    """
    _show(plan)
    if plan.conflicts:
        raise _fail(f"{len(plan.conflicts)} conflict(s): nothing was written")
    if dry_run:
        out.print(plan.diff(), markup=False, end="")
        return False
    plan.apply(project.root)
    if plan.unmerged:
        names = ", ".join(str(action.path) for action in plan.unmerged)
        err.print(
            f"[bold red]error:[/] your edits overlap gen's in {names}: resolve the conflict "
            "markers (<<<<<<<), then run the checks",
            markup=True,
        )
        raise typer.Exit(1)
    return bool(plan.changes)


def _project_command(project: Project, *commands: str) -> str:
    """`commands` as the user can run them from the project's folder, in the shell they are
    in: with uv when it is on PATH, else from the project's own environment when it has one."""
    if shutil.which("uv"):
        return " && ".join(f"uv run {command}" for command in commands)
    local = project.root / ".venv" / "bin"
    if (local / commands[0].split()[0]).is_file():
        return " && ".join(f".venv/bin/{command}" for command in commands)
    return "install uv (https://docs.astral.sh/uv/), then " + " && ".join(
        f"uv run {command}" for command in commands
    )


def _pairs(items: list[str] | None, option: str) -> dict[str, str]:
    """`--rename old=new` or `--backfill name=value`, repeated, as a dictionary."""
    found: dict[str, str] = {}
    for item in items or []:
        key, separator, value = item.partition("=")
        if not separator or not key or not value:
            raise _fail(f"{option} {item!r}: write it as {option} NAME=VALUE")
        if key in found:
            raise _fail(f"{option} {key}: given twice")
        found[key] = value
    return found


BackfillOption = Annotated[
    list[str] | None,
    typer.Option(
        "--backfill",
        metavar="NAME=VALUE",
        help="The value of a field that becomes required, for rows already stored",
        show_default=False,
    ),
]


def _change(project: Project, request: EntitySpec, *, dry_run: bool, **options: Any) -> None:
    """Plan a new or changed entity, carry it out, and say what comes next."""
    from fastapi_slices.slices import entity_plan  # noqa: PLC0415 - keeps --help quick

    plan = entity_plan(project, request, now=datetime.now(UTC), **options)
    if _carry_out(plan, project, dry_run=dry_run):
        out.print(f"\nNext: {_project_command(project, 'alembic upgrade head', 'pytest')}")


def _entity_help() -> str:
    """The help of `gen entity`: its types come from the grammar itself."""
    from fastapi_slices.fields import TYPES  # noqa: PLC0415

    types = textwrap.wrap(" ".join(TYPES), 64)
    return f"""Add an entity slice, or change an entity to a new spec.

    The slice: model, schemas, repository, service, routes, migration and tests. For an
    entity that exists, gen merges the change into its files (your edits kept) and writes a
    migration that alters the table.

    \b
    Types:     {(chr(10) + " " * 15).join(types)}
    Modifiers: ? (optional, after the type)  unique  index  filter  sort
               default=V  min=N  max=N
    Values:    decimal=precision.scale  enum=a,b,c  ref=Entity

    \b
    Examples:
      gen entity Author name:str:max=120:unique bio:text?
      gen entity Book title:str:max=200:index isbn:str:unique \\
          price:decimal=10.2:min=0 published_on:date? \\
          status:enum=draft,published:default=draft \\
          author:ref=Author extra:json? --owned
      gen entity Author name:str:max=160:unique bio:text? \\
          born:date? --owned
      gen entity Author writer:str:unique --rename name=writer \\
          --owned
    """


@app.command(help=_entity_help())
def entity(
    name: Annotated[
        str, typer.Argument(metavar="ENTITY", help="The entity, in PascalCase: Book, BookReview")
    ],
    fields: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="FIELD",
            help="Fields as name:type[?][:modifier[=value]]...",
            show_default=False,
        ),
    ] = None,
    owned: Annotated[
        bool, typer.Option("--owned", help="Rows belong to their creator; others get 404")
    ] = False,
    open_writes: Annotated[
        bool | None,
        typer.Option(
            "--open-writes/--superuser-writes",
            help="Rows not --owned: every user may write them, or superusers only (the "
            "default for a new entity; an existing one keeps its rule)",
            show_default=False,
        ),
    ] = None,
    timestamps: Annotated[
        bool, typer.Option("--timestamps/--no-timestamps", help="created_at and updated_at")
    ] = True,
    plural: Annotated[
        str | None, typer.Option(help="The plural, when English rules get it wrong")
    ] = None,
    table: Annotated[str | None, typer.Option(help="The table name (default: the plural)")] = None,
    rename: Annotated[
        list[str] | None,
        typer.Option(
            "--rename",
            metavar="OLD=NEW",
            help="A field of the existing entity that the new spec names NEW",
            show_default=False,
        ),
    ] = None,
    backfill: BackfillOption = None,
    dry_run: DryRunOption = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace files that exist and differ")
    ] = False,
    project_dir: ProjectOption = None,
) -> None:
    renames, backfills = _pairs(rename, "--rename"), _pairs(backfill, "--backfill")
    try:
        project = Project.find(project_dir or Path.cwd())
        request = EntitySpec(
            name=name,
            fields=list(fields or []),
            owned=owned,
            timestamps=timestamps,
            plural=plural,
            table=table,
        )
        request.names  # noqa: B018 - validates the name before anything else
        from fastapi_slices.slices import with_writes  # noqa: PLC0415 - keeps --help quick

        _change(
            project,
            with_writes(project, request, open_writes),
            dry_run=dry_run,
            force=force,
            renames=renames,
            backfills=backfills,
        )
    except GenError as error:
        raise _fail(str(error)) from None


field_app = typer.Typer(
    help="Add, remove or rename fields of an entity.",
    no_args_is_help=True,
)
app.add_typer(field_app, name="field")
EntityArgument = Annotated[str, typer.Argument(metavar="ENTITY", help="The entity, e.g. Book")]


def _edit_fields(
    project_dir: Path | None,
    entity_name: str,
    edit: Callable[[EntitySpec], tuple[list[str], dict[str, str]]],
    *,
    dry_run: bool,
    backfills: dict[str, str] | None = None,
) -> None:
    """Change the stored spec's fields with `edit` (-> new tokens, renames), then plan it."""
    try:
        project = Project.find(project_dir or Path.cwd())
        spec = project.find_spec(entity_name)
        tokens, renames = edit(spec)
        request = replace(spec.request(), fields=tokens)
        _change(
            project, request, dry_run=dry_run, force=False, renames=renames, backfills=backfills
        )
    except GenError as error:
        raise _fail(str(error)) from None


@field_app.command("add")
def field_add(
    entity_name: EntityArgument,
    fields: Annotated[
        list[str],
        typer.Argument(metavar="FIELD", help="Fields as name:type[?][:modifier[=value]]..."),
    ],
    backfill: BackfillOption = None,
    dry_run: DryRunOption = False,
    project_dir: ProjectOption = None,
) -> None:
    """Add fields to an entity: its files gain them, a migration adds the columns.

    \b
    Examples:
      gen field add Book pages:int? subtitle:str:max=120?
      gen field add Book isbn:str:unique --backfill isbn=unknown
    """
    backfills = _pairs(backfill, "--backfill")

    def add(spec: EntitySpec) -> tuple[list[str], dict[str, str]]:
        existing = {item.name for item in spec.parsed_fields().items}
        for token in fields:
            name = token.partition(":")[0]
            if name in existing:
                raise SpecError(
                    f"{token!r}: {spec.name} has a field {name!r} already; change it with "
                    f"`gen entity {spec.name} ...` and its full spec"
                )
        return [*spec.fields, *fields], {}

    _edit_fields(project_dir, entity_name, add, dry_run=dry_run, backfills=backfills)


@field_app.command("remove")
def field_remove(
    entity_name: EntityArgument,
    names: Annotated[list[str], typer.Argument(metavar="NAME", help="The fields' names")],
    dry_run: DryRunOption = False,
    project_dir: ProjectOption = None,
) -> None:
    """Remove fields of an entity: its files lose them, a migration drops the columns.

    \b
    Example:
      gen field remove Book subtitle
    """

    def remove(spec: EntitySpec) -> tuple[list[str], dict[str, str]]:
        gone = {spec.field_named(name).name for name in names}
        return [t for t in spec.fields if t.partition(":")[0] not in gone], {}

    _edit_fields(project_dir, entity_name, remove, dry_run=dry_run)


@field_app.command("rename")
def field_rename(
    entity_name: EntityArgument,
    old: Annotated[str, typer.Argument(metavar="OLD", help="The field's name now")],
    new: Annotated[str, typer.Argument(metavar="NEW", help="Its new name")],
    dry_run: DryRunOption = False,
    project_dir: ProjectOption = None,
) -> None:
    """Rename a field: its files follow, a migration renames the column (its data stays).

    \b
    Example:
      gen field rename Book title heading
    """

    def rename(spec: EntitySpec) -> tuple[list[str], dict[str, str]]:
        item = spec.field_named(old)
        check_identifier(new, what="field name")
        renamed = item.renamed(new).token
        return [renamed if t == item.token else t for t in spec.fields], {old: new}

    _edit_fields(project_dir, entity_name, rename, dry_run=dry_run)


@app.command()
def destroy(
    name: Annotated[str, typer.Argument(metavar="ENTITY", help="The entity to remove, e.g. Book")],
    dry_run: DryRunOption = False,
    force: Annotated[
        bool, typer.Option("--force", help="Remove files even if you changed them")
    ] = False,
    project_dir: ProjectOption = None,
) -> None:
    """Remove exactly what `gen entity` added for an entity.

    Downgrade the database below the entity's migration first (alembic downgrade), since
    the migration file goes too.
    """
    try:
        from fastapi_slices.slices import destroy_plan  # noqa: PLC0415 - keeps --help quick

        project = Project.find(project_dir or Path.cwd())
        plan = destroy_plan(project, name, force=force, now=datetime.now(UTC))
        _carry_out(plan, project, dry_run=dry_run)
    except GenError as error:
        raise _fail(str(error)) from None


@app.command()
def new(
    destination: Annotated[
        Path, typer.Argument(metavar="FOLDER", help="The folder of the new project")
    ],
    template: Annotated[
        str | None,
        typer.Option(help="fastapi-slices as a path or git URL (default: this checkout)"),
    ] = None,
    vcs_ref: Annotated[
        str | None, typer.Option(help="A tag or commit of the template (default: latest tag)")
    ] = None,
    data: Annotated[
        list[str] | None, typer.Option("--data", "-d", help="An answer, as key=value")
    ] = None,
    defaults: Annotated[bool, typer.Option(help="Take the default of every other answer")] = False,
) -> None:
    """Render a new project, ready for `gen update` later.

    `copier copy` of this fastapi-slices, its source recorded as an absolute path or URL.

    \b
    Example:
      gen new ../bookshop --defaults -d project_name="Book Shop" \\
          -d package_name=shop
    """
    from fastapi_slices.lifecycle import new_project  # noqa: PLC0415

    answers: dict[str, str] = {}
    for item in data or []:
        key, separator, value = item.partition("=")
        if not separator or not key:
            raise _fail(f"--data {item!r}: write an answer as key=value")
        answers[key] = value
    try:
        new_project(
            destination, template=template, vcs_ref=vcs_ref, answers=answers, defaults=defaults
        )
    except GenError as error:
        raise _fail(str(error)) from None
    steps = (
        f"cd {shlex.quote(str(destination))} && git init && uv sync && uv run alembic upgrade head"
    )
    if not shutil.which("uv"):
        steps = f"install uv (https://docs.astral.sh/uv/), then {steps}"
    out.print(f"Rendered {destination}. Next: {steps}")


@app.command()
def update(
    vcs_ref: Annotated[
        str | None, typer.Option(help="The template version to go to (default: latest tag)")
    ] = None,
    project_dir: ProjectOption = None,
) -> None:
    """Update the project: its template, its slices, one migration head.

    `copier update` to the template's newer release, then this gen's release merged into
    every entity slice (your edits kept), and migration heads joined.

    Refuses a project with uncommitted changes. Exits 1 when files need a human: they hold
    conflict markers (or *.rej files) to resolve before you commit.
    """
    from fastapi_slices.lifecycle import update_project  # noqa: PLC0415

    try:
        project = Project.find(project_dir or Path.cwd())
        result = update_project(project, vcs_ref=vcs_ref, now=datetime.now(UTC))
    except GenError as error:
        raise _fail(str(error)) from None
    _show(result.changes, changes_only=True)
    unmerged = {str(action.path) for action in result.changes.unmerged}
    for path in result.conflicts:
        if path not in unmerged:
            out.print(f"[{COLOURS['conflict']}]{'conflict':>12}[/]  {path}", markup=True)
    if result.conflicts:
        err.print(
            f"[bold red]error:[/] {len(result.conflicts)} file(s) need resolving: "
            "fix the conflict markers, run the checks, then commit",
            markup=True,
        )
        raise typer.Exit(1)
    out.print("Updated. Review `git diff`, run alembic upgrade head and the tests, then commit.")


@app.command()
def check(
    fix: Annotated[
        bool,
        typer.Option(
            "--fix", help="Merge this release into every slice; join several migration heads"
        ),
    ] = False,
    project_dir: ProjectOption = None,
) -> None:
    """Check the project: answers, migrations, registries, slices.

    After a plain `copier update`, run `gen check --fix` (before you commit the update).
    """
    from fastapi_slices.lifecycle import (  # noqa: PLC0415
        check_project,
        fix_plan,
        release_before_update,
    )

    try:
        project = Project.find(project_dir or Path.cwd())
        if fix:
            plan = fix_plan(project, release=release_before_update(project), now=datetime.now(UTC))
            _show(plan, changes_only=True)
            plan.apply(project.root)
            if plan.unmerged:
                names = ", ".join(str(action.path) for action in plan.unmerged)
                raise _fail(f"your edits overlap gen's in {names}: resolve the conflict markers")
            project = Project.find(project.root)
        problems = check_project(project)
    except GenError as error:
        raise _fail(str(error)) from None
    for problem in problems:
        err.print(f"[bold red]problem:[/] {problem}", markup=True)
    if problems:
        raise typer.Exit(1)
    out.print(f"ok: {len(project.specs)} entities, {len(project.revisions)} migrations, one head")


DomainFileArgument = Annotated[
    Path, typer.Argument(metavar="FILE", help="The domain file (YAML)", show_default=True)
]


@app.command("apply")
def apply_domain(
    path: DomainFileArgument = Path("domain.yaml"),
    dry_run: DryRunOption = False,
    project_dir: ProjectOption = None,
) -> None:
    """Make the project's entities what a domain file says.

    Entities that are missing are created, each after those it refers to; those that differ
    are changed as `gen entity` changes them (your edits kept, a migration per change). One
    plan, written all or nothing; applying the same file again changes nothing. Entities the
    file does not name are left alone.

    \b
    A domain file (`gen export` writes the current one):
      entities:
        Author:
          fields:
            - name:str:max=120:unique
            - bio:text?
          owned: true
        Book:
          fields:
            - title:str:max=200:index
            - author:ref=Author
            - genres:refs=Genre
          owned: true
        Genre:
          fields: [name:str:unique, 'parent:ref=Genre?']
          open_writes: true
    """
    from fastapi_slices import domain  # noqa: PLC0415 - keeps --help quick

    try:
        project = Project.find(project_dir or Path.cwd())
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or error
            raise SpecError(f"{path}: cannot read it ({reason})") from None
        plan = domain.apply_plan(project, domain.parse(text, str(path)), now=datetime.now(UTC))
        plan.add(domain.schema_action(project))
        if _carry_out(plan, project, dry_run=dry_run) and any(
            action.path.parent == VERSIONS_FOLDER for action in plan.changes
        ):
            out.print(f"\nNext: {_project_command(project, 'alembic upgrade head', 'pytest')}")
    except GenError as error:
        raise _fail(str(error)) from None


@app.command("export")
def export_domain(
    path: DomainFileArgument = Path("domain.yaml"),
    project_dir: ProjectOption = None,
) -> None:
    """Write the domain file of the project's entities (FILE `-`: print it).

    `gen apply` takes it back; the file names its JSON Schema, which editors read to check
    and complete it (written beside the specs, in .gen/).
    """
    from fastapi_slices import domain  # noqa: PLC0415
    from fastapi_slices.plan import decide  # noqa: PLC0415

    try:
        project = Project.find(project_dir or Path.cwd())
        text = domain.export(project.specs.values())
        if str(path) == "-":
            out.print(text, markup=False, end="")
            return
        target = PurePosixPath(os.path.relpath(path.resolve(), project.root))
        plan = Plan()
        plan.add(decide(target, project.read(target), text, force=True, verb="update"))
        plan.add(domain.schema_action(project))
        _carry_out(plan, project, dry_run=False)
    except GenError as error:
        raise _fail(str(error)) from None


def main() -> None:
    app()
