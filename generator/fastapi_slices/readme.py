"""The rendered README's list of entity pages, which gen keeps.

One line per entity, linking its page in `docs/api/`, each after the lines of the entities it
refers to: a page's examples use the ids that the pages of those entities keep, so the pages
run as written from the top of the list down. Lines a user added (without a link to
`docs/api/`) are kept, after gen's. A README without the markers is left alone.
"""

from collections.abc import Iterable

from fastapi_slices.spec import EntitySpec

START = "<!-- gen: entity pages -->"
END = "<!-- gen: end of entity pages -->"


def page_line(spec: EntitySpec) -> str:
    title, path = spec.names.title_plural, spec.names.kebab_plural
    return f"- [{title}](docs/api/{path}.md): `/api/v1/{path}`"


def with_pages(readme: str, specs: Iterable[EntitySpec]) -> str:
    """`readme` listing exactly the pages of `specs`: those listed already keep their order,
    new ones come last, and every entity comes after the entities it refers to."""
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        return readme
    listed = [line for line in readme[start + len(START) : end].splitlines() if line.strip()]
    by_name = {spec.names.pascal: spec for spec in specs}
    position = {line: index for index, line in enumerate(listed)}
    ordered: list[str] = []
    placed: set[str] = set()

    def place(spec: EntitySpec) -> None:
        if spec.names.pascal in placed:
            return
        placed.add(spec.names.pascal)
        for item in spec.parsed_fields().items:
            if item.refers and item.target in by_name:
                place(by_name[item.target])
        ordered.append(page_line(spec))

    for spec in sorted(by_name.values(), key=lambda s: position.get(page_line(s), len(listed))):
        place(spec)
    own = [line for line in listed if "(docs/api/" not in line]
    lines = "".join(f"{line}\n" for line in [*ordered, *own])
    return f"{readme[: start + len(START)]}\n{lines}{readme[end:]}"
