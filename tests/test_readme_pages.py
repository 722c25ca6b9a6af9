"""The rendered README's list of entity pages, as gen keeps it."""

from fastapi_slices.readme import END, START, with_pages
from fastapi_slices.spec import EntitySpec

README = f"# Shop\n\n{START}\n- [Items](docs/api/items.md): `/api/v1/items`\n{END}\n\nMore.\n"
AUTHOR = EntitySpec("Author", ["name:str"])
BOOK = EntitySpec("Book", ["title:str", "author:ref=Author"])
ITEM = EntitySpec("Item", ["name:str"])


def _listed(readme: str) -> list[str]:
    return readme[readme.index(START) + len(START) : readme.index(END)].split()[1::3]


def test_new_pages_come_last_and_after_what_they_refer_to() -> None:
    text = with_pages(README, [BOOK, ITEM, AUTHOR])
    assert _listed(text) == [
        "[Items](docs/api/items.md):",
        "[Authors](docs/api/authors.md):",
        "[Books](docs/api/books.md):",
    ]
    assert text.endswith(f"{END}\n\nMore.\n")
    assert with_pages(text, [ITEM, AUTHOR, BOOK]) == text  # applying it again changes nothing


def test_a_page_moves_below_an_entity_it_comes_to_refer_to() -> None:
    listed = with_pages(README, [ITEM, EntitySpec("Book", ["title:str"]), AUTHOR])
    assert _listed(listed)[1:] == ["[Books](docs/api/books.md):", "[Authors](docs/api/authors.md):"]
    assert _listed(with_pages(listed, [ITEM, BOOK, AUTHOR]))[1:] == [
        "[Authors](docs/api/authors.md):",
        "[Books](docs/api/books.md):",
    ]


def test_gone_entities_leave_and_a_users_own_lines_stay() -> None:
    own = README.replace(END, f"- the admin guide: see docs/admin.md\n{END}")
    text = with_pages(own, [AUTHOR])
    assert "items.md" not in text
    assert "- [Authors](docs/api/authors.md): `/api/v1/authors`\n- the admin guide" in text


def test_a_readme_without_the_list_is_left_alone() -> None:
    assert with_pages("# Shop\n", [AUTHOR]) == "# Shop\n"
