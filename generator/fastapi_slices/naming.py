"""Names of an entity in every spelling the generated code needs.

English plurals follow Rails' inflector (the `inflection` library: `analysis` -> `analyses`,
`person` -> `people`), with a few words it gets wrong put right; anything else is what
`--plural` is for. Specs written by gen 0.1 and 0.2 keep the plurals of the rules gen had then
(`legacy_pluralize`): a new rule never renames an existing table.
"""

import keyword
import re
from dataclasses import dataclass

import inflection

from fastapi_slices.errors import SpecError

# Words the inflector's rules get wrong (Rails says `heros`, `leafs`, `gooses`).
_CORRECTIONS = {
    "criterion": "criteria",
    "foot": "feet",
    "goose": "geese",
    "hero": "heroes",
    "leaf": "leaves",
    "phenomenon": "phenomena",
    "tooth": "teeth",
}
# The rules of gen 0.1 and 0.2 (`legacy_pluralize`).
_IRREGULAR = {
    "child": "children",
    "foot": "feet",
    "goose": "geese",
    "man": "men",
    "mouse": "mice",
    "person": "people",
    "tooth": "teeth",
    "woman": "women",
}
_UNCOUNTABLE = frozenset(
    {
        "data",
        "equipment",
        "feedback",
        "information",
        "metadata",
        "news",
        "series",
        "sheep",
        "species",
        "staff",
    }
)
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z]|\d|\b)|[A-Z]?[a-z]+|[A-Z]+|\d+")
MAX_NAME_LENGTH = 24  # in snake_case; the generated code is formatted for names this long
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")

# Names that would shadow a module of the generated project, a class its slices import, or an
# attribute SQLAlchemy or Pydantic reserves on every model.
RESERVED_ENTITY_NAMES = frozenset(
    {
        "api",
        "base",
        "core",
        "health",
        "main",
        "metadata",
        "model",
        "page",  # schemas/common.py's Page and PageQuery
        "path",  # pathlib's, in the tests of its import command
        "registry",
        "router",
        "schema",
        "service",
        "settings",
        "token",
        "user",
        "auth",
    }
)


def words(name: str) -> list[str]:
    """Split `BookReview`, `book_review` or `bookReview` into lower-case words."""
    return [word.lower() for word in _WORD.findall(name)]


def snake_case(name: str) -> str:
    return "_".join(words(name))


def pascal_case(name: str) -> str:
    return "".join(word.capitalize() for word in words(name))


def pluralize(word: str) -> str:
    """The plural of one lower-case English word."""
    return _CORRECTIONS.get(word) or str(inflection.pluralize(word))


def is_regular_plural(word: str, plural: str) -> bool:
    """Whether `plural` is `word` with -s or -es, which no reader doubts."""
    return plural in {word + "s", word + "es"}


def legacy_pluralize(word: str) -> str:
    """The plural rules of gen 0.1 and 0.2, which the specs they wrote keep."""
    if word in _UNCOUNTABLE:
        return word
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    if re.search(r"[^aeiou]o$", word) and word not in {"photo", "piano", "memo", "logo", "video"}:
        return word + "es"
    if word.endswith("fe"):
        return word[:-2] + "ves"
    if re.search(r"(?<![aeiou])[aeiou]?lf$|(ea|oa)f$", word):
        return word[:-1] + "ves"
    return word + "s"


def plural_snake(snake: str, *, legacy: bool = False) -> str:
    """Pluralize the last word: `book_review` -> `book_reviews`."""
    *head, last = snake.split("_")
    return "_".join([*head, (legacy_pluralize if legacy else pluralize)(last)])


def check_identifier(name: str, *, what: str) -> None:
    """Refuse what cannot be a snake_case Python name."""
    if not _SNAKE.match(name):
        raise SpecError(f"{what} {name!r} must be snake_case: lower-case letters, digits, '_'")
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise SpecError(f"{what} {name!r} is a Python keyword")


@dataclass(frozen=True)
class EntityNames:
    """`Book` spelled for classes, modules, routes and tables."""

    pascal: str  # Book, BookReview: classes
    snake: str  # book, book_review: modules, variables
    plural: str  # books, book_reviews: route modules, collections
    table: str  # books: the SQL table
    kebab_plural: str  # book-reviews: URL paths
    title: str  # Book review: messages and docs
    title_plural: str  # Book reviews

    @classmethod
    def from_name(
        cls,
        name: str,
        *,
        plural: str | None = None,
        table: str | None = None,
        legacy: bool = False,
    ) -> "EntityNames":
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) or not words(name):
            raise SpecError(f"entity name {name!r} must be a word such as Book or BookReview")
        snake = snake_case(name)
        if snake.replace("_", "") != name.replace("_", "").lower():
            raise SpecError(f"entity name {name!r} cannot be turned into PascalCase cleanly")
        check_identifier(snake, what="entity name")
        if len(snake) > MAX_NAME_LENGTH:
            raise SpecError(
                f"entity name {name!r} is longer than {MAX_NAME_LENGTH} characters "
                "(in snake_case): generated lines must fit"
            )
        if snake in RESERVED_ENTITY_NAMES:
            raise SpecError(f"entity name {name!r} is reserved by the generated project")
        plural_name = plural or plural_snake(snake, legacy=legacy)
        check_identifier(plural_name, what="plural")
        if plural_name == snake:
            singular = inflection.singularize(snake)
            if not plural and singular != snake and not legacy:
                raise SpecError(
                    f"entity name {name!r} looks plural: name it {pascal_case(singular)} (its "
                    f"routes are /{plural_name.replace('_', '-')}), or pass --plural"
                )
            raise SpecError(
                f"plural {plural_name!r} must differ from the singular; pass another with --plural"
            )
        table_name = table or plural_name
        check_identifier(table_name, what="table name")
        human = " ".join(words(snake))
        return cls(
            pascal=pascal_case(snake),
            snake=snake,
            plural=plural_name,
            table=table_name,
            kebab_plural=plural_name.replace("_", "-"),
            title=human.capitalize(),
            title_plural=" ".join(words(plural_name)).capitalize(),
        )


def with_article(word: str) -> str:
    """`word` after "a" or "an": "an Author", "a Book", and "a User" (a `u` that sounds like
    "you", as in most English words that begin with one)."""
    return f"{'an' if word[:1].upper() in 'AEIO' else 'a'} {word}"
