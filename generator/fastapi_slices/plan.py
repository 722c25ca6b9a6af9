"""A plan: every change `gen` will make, decided in memory before anything is written.

Each action has a verb, shown in a fixed-width column, and an inverse (what `destroy` does):
create <-> remove, inject <-> remove lines. `merge` writes a file with the user's edits and
gen's change together; `unmerged` writes one whose edits overlapped gen's, with conflict
markers for the user to resolve; `update` rewrites gen's own records (specs, base copies).

Applying writes every new file to a temporary sibling first, then renames them into place; if
anything fails, what was already replaced is put back, so the project ends either fully
changed or as it was.
"""

import difflib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from fastapi_slices.errors import GenError

Verb = Literal[
    "create",
    "identical",
    "inject",
    "remove",
    "skip",
    "conflict",
    "force",
    "merge",
    "unmerged",
    "update",
]
CHANGES: frozenset[Verb] = frozenset(
    {"create", "inject", "remove", "force", "merge", "unmerged", "update"}
)


@dataclass(frozen=True)
class Action:
    verb: Verb
    path: PurePosixPath
    before: str | None  # the file now (None: absent)
    after: str | None  # the file afterwards (None: absent)
    note: str = ""

    @property
    def changes(self) -> bool:
        return self.verb in CHANGES


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the user may want to check

    def add(self, action: Action) -> None:
        self.actions.append(action)

    @property
    def conflicts(self) -> list[Action]:
        return [action for action in self.actions if action.verb == "conflict"]

    @property
    def changes(self) -> list[Action]:
        return [action for action in self.actions if action.changes]

    @property
    def unmerged(self) -> list[Action]:
        """Files written with conflict markers: the user resolves them."""
        return [action for action in self.actions if action.verb == "unmerged"]

    def extend(self, other: "Plan") -> None:
        self.actions += other.actions
        self.notes += other.notes

    def lines(self) -> Iterator[tuple[Verb, str]]:
        for action in self.actions:
            yield action.verb, f"{action.path}{f'  ({action.note})' if action.note else ''}"

    def diff(self) -> str:
        """A unified diff of every change, as `git diff` would show it."""
        chunks: list[str] = []
        for action in self.changes:
            before = (action.before or "").splitlines(keepends=True)
            after = (action.after or "").splitlines(keepends=True)
            chunks += difflib.unified_diff(
                before,
                after,
                fromfile="/dev/null" if action.before is None else f"a/{action.path}",
                tofile="/dev/null" if action.after is None else f"b/{action.path}",
            )
        return "".join(line if line.endswith("\n") else line + "\n" for line in chunks)

    def apply(self, root: Path) -> None:
        """Make every change, or none: on any failure the project is restored, byte for byte."""
        originals: dict[Path, tuple[bytes, int]] = {}  # the files changed, as they were
        staged: dict[Path, Path] = {}  # destination -> its new content in a temporary file
        done: list[Path] = []
        failed = PurePosixPath(".")
        try:
            for action in self.changes:
                failed, destination = action.path, root / action.path
                if destination.exists():
                    originals[destination] = (destination.read_bytes(), destination.stat().st_mode)
                if action.after is not None:
                    staged[destination] = _stage(destination, action.after)
            for action in self.changes:
                failed, destination = action.path, root / action.path
                if action.after is None:
                    destination.unlink()
                    _remove_empty_parents(destination.parent, root)
                else:
                    os.replace(staged[destination], destination)
                done.append(destination)
        except OSError as error:
            _undo(done, originals, root)
            _discard(staged, root)
            raise GenError(
                f"cannot write {failed}: {error.strerror}; nothing was changed"
            ) from None


def _stage(destination: Path, text: str) -> Path:
    """Write `text` next to `destination` (same file system, so renaming is atomic)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.")
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    if destination.exists():
        os.chmod(name, destination.stat().st_mode & 0o777)
    else:
        os.chmod(name, 0o644)
    return Path(name)


def _discard(staged: dict[Path, Path], root: Path) -> None:
    for temporary in staged.values():
        temporary.unlink(missing_ok=True)
        _remove_empty_parents(temporary.parent, root)


def _undo(done: list[Path], originals: dict[Path, tuple[bytes, int]], root: Path) -> None:
    for path in reversed(done):
        if path in originals:
            content, mode = originals[path]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            path.chmod(mode & 0o7777)
        else:
            path.unlink(missing_ok=True)
            _remove_empty_parents(path.parent, root)


def _remove_empty_parents(folder: Path, root: Path) -> None:
    """Remove folders a removal left empty, up to the project root."""
    while folder != root and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def decide(
    path: PurePosixPath,
    before: str | None,
    after: str | None,
    *,
    force: bool,
    verb: Verb = "create",
) -> Action:
    """The action that takes `path` from `before` to `after`."""
    if before == after:
        return Action("identical" if after is not None else "skip", path, before, after)
    if after is None:
        return Action("remove", path, before, after)
    if before is None:
        return Action("create", path, before, after)
    if verb in {"inject", "remove", "update"}:  # edits gen may always make
        return Action(verb, path, before, after)
    if force:
        return Action("force", path, before, after)
    return Action("conflict", path, before, after, note="exists and differs; --force replaces it")
