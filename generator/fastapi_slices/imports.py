"""Import blocks written the way ruff's isort writes them, so generated files need no fixing.

Sections: standard library, third party, first party (the project), then the project's
tests (a section of their own in the project's ruff settings), a blank line between.
Inside a section `import x` lines come first, then `from x import ...`, each sorted by module;
imported names are sorted constants first, then classes, then the rest (ruff's order-by-type).
"""

from collections import defaultdict
from dataclasses import dataclass, field

STDLIB = frozenset(
    {
        "asyncio",
        "collections",
        "datetime",
        "decimal",
        "enum",
        "functools",
        "gzip",
        "itertools",
        "json",
        "logging",
        "pathlib",
        "typing",
        "uuid",
    }
)
LINE_LENGTH = 100
# Copier accepts package names up to this long. Lines are measured as if the package name were
# this long, so that a starter rendered by Copier (which cannot run ruff) is formatted for any
# package name: ruff keeps a wrapped import with its trailing comma, short name or long.
MAX_PACKAGE_LENGTH = 30


def _name_key(name: str) -> tuple[int, str]:
    bare = name.split(" as ", maxsplit=1)[0]
    if bare.isupper() and len(bare) > 1:
        return (0, bare)
    if bare[:1].isupper():
        return (1, bare)
    return (2, bare)


@dataclass
class Imports:
    """Collects imports for one generated module, then writes its import block."""

    first_party: str
    plain: set[str] = field(default_factory=set)
    names: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def add(self, module: str, *names: str) -> "Imports":
        """`add("typing", "Any")` or, with no names, `import module`."""
        if names:
            self.names[module].update(names)
        else:
            self.plain.add(module)
        return self

    def _section(self, module: str) -> int:
        root = module.split(".", maxsplit=1)[0].split(" ", maxsplit=1)[0]
        if root == "tests":
            return 3
        if root == self.first_party:
            return 2
        return 0 if root in STDLIB else 1

    def _worst_case(self, line: str) -> str:
        own = f" {self.first_party}."
        return line.replace(own, f" {'x' * MAX_PACKAGE_LENGTH}.", 1) if own in line else line

    def render(self) -> str:
        sections: list[list[str]] = [[], [], [], []]
        for module in sorted(self.plain, key=str.lower):
            sections[self._section(module)].append(f"import {module}")
        for module in sorted(self.names, key=str.lower):
            names = sorted(self.names[module], key=_name_key)
            line = f"from {module} import {', '.join(names)}"
            if len(self._worst_case(line)) > LINE_LENGTH:
                inner = "".join(f"    {name},\n" for name in names)
                line = f"from {module} import (\n{inner})"
            sections[self._section(module)].append(line)
        return "\n\n".join("\n".join(lines) for lines in sections if lines)
