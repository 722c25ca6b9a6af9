"""The field grammar and entity naming of `gen entity`."""

from decimal import Decimal

import pytest

from fastapi_slices.errors import SpecError
from fastapi_slices.fields import Field, Fields
from fastapi_slices.naming import EntityNames, pluralize
from fastapi_slices.spec import SPEC_VERSION, EntitySpec


@pytest.mark.parametrize(
    ("word", "plural"),
    [
        ("book", "books"),
        ("category", "categories"),
        ("day", "days"),
        ("box", "boxes"),
        ("status", "statuses"),
        ("match", "matches"),
        ("wish", "wishes"),
        ("hero", "heroes"),
        ("photo", "photos"),
        ("knife", "knives"),
        ("half", "halves"),
        ("leaf", "leaves"),
        ("roof", "roofs"),
        ("person", "people"),
        ("child", "children"),
        ("news", "news"),
        ("analysis", "analyses"),
        ("diagnosis", "diagnoses"),
        ("matrix", "matrices"),
        ("quiz", "quizzes"),
        ("goose", "geese"),
    ],
)
def test_plurals(word: str, plural: str) -> None:
    assert pluralize(word) == plural


def test_a_plural_name_is_refused_with_its_singular() -> None:
    with pytest.raises(SpecError, match="'Doctors' looks plural: name it Doctor"):
        EntityNames.from_name("Doctors")


def test_specs_of_older_gens_keep_their_plurals() -> None:
    """gen 0.2 named Analysis's table `analysises`: the spec keeps meaning that table."""
    old = EntitySpec(name="Analysis", fields=["result:str"], version=1, generator="")
    assert old.names.table == "analysises"
    assert EntitySpec(name="Analysis", fields=["result:str"]).names.table == "analyses"
    current = old.current()
    assert (current.version, current.plural, current.names.table) == (
        SPEC_VERSION,
        "analysises",
        "analysises",
    )
    assert EntitySpec(name="Book", fields=[], version=1).current().plural is None


@pytest.mark.parametrize(
    ("name", "pascal", "snake", "plural", "kebab"),
    [
        ("Book", "Book", "book", "books", "books"),
        ("BookReview", "BookReview", "book_review", "book_reviews", "book-reviews"),
        ("book_review", "BookReview", "book_review", "book_reviews", "book-reviews"),
        ("bookReview", "BookReview", "book_review", "book_reviews", "book-reviews"),
        ("HTTPLog", "HttpLog", "http_log", "http_logs", "http-logs"),
        ("Category", "Category", "category", "categories", "categories"),
    ],
)
def test_entity_names(name: str, pascal: str, snake: str, plural: str, kebab: str) -> None:
    names = EntityNames.from_name(name)
    assert (names.pascal, names.snake, names.plural, names.table, names.kebab_plural) == (
        pascal,
        snake,
        plural,
        plural,
        kebab,
    )


def test_plural_and_table_overrides() -> None:
    names = EntityNames.from_name("Person", plural="persons", table="person_rows")
    assert (names.plural, names.table) == ("persons", "person_rows")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("class", "keyword"),
        ("9Lives", "must be a word"),
        ("Book-Review", "must be a word"),
        ("", "must be a word"),
        ("Metadata", "reserved"),
        ("User", "reserved"),
        ("Sheep", "plural"),
        ("ArchivedWarehouseStockMove", "longer than 24 characters"),
    ],
)
def test_bad_entity_names(name: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        EntityNames.from_name(name)


def test_full_token() -> None:
    field = Field.parse("title:str:max=200:index")
    assert (field.name, field.type, field.optional, field.index, field.max) == (
        "title",
        "str",
        False,
        True,
        "200",
    )
    assert field.filterable
    assert field.sortable


@pytest.mark.parametrize(
    ("token", "check"),
    [
        ("price:decimal=10.2", lambda f: (f.precision, f.scale) == (10, 2)),
        ("price:decimal?=8.3", lambda f: f.optional and (f.precision, f.scale) == (8, 3)),
        ("status:enum=draft,published", lambda f: f.choices == ("draft", "published")),
        ("status:enum=a,b?", lambda f: f.optional and f.choices == ("a", "b")),
        ("author:ref=Author", lambda f: f.target == "Author" and f.column == "author_id"),
        ("published_on:date?", lambda f: f.optional and f.type == "date"),
        (
            "site:url:default=https://example.com/a:b",
            lambda f: f.default == "https://example.com/a:b",
        ),
        ("stock:int:min=0:default=0", lambda f: (f.min, f.default) == ("0", "0")),
        ("done:bool:default=true", lambda f: f.default == "true" and f.filterable),
        ("extra:json?", lambda f: f.optional and not f.filterable and not f.sortable),
    ],
)
def test_tokens(token: str, check: object) -> None:
    assert callable(check)
    assert check(Field.parse(token))


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("title", "a field is name:type"),
        ("title:", "a field is name:type"),
        (":str", "a field is name:type"),
        ("title:string", "unknown type 'string'"),
        ("Title:str", "snake_case"),
        ("class:str", "keyword"),
        ("id:int", "reserved"),
        ("owner_id:int", "reserved"),
        ("model_name:str", "reserved"),
        ("title:str:max=abc", "not a valid int"),
        ("title:str:max=0", "positive"),
        ("title:str:min=5:max=2", "min is greater than max"),
        ("title:str:colour", "unknown modifier 'colour'"),
        ("title:str:unique:unique", "given twice"),
        ("title:str:unique=yes", "write the modifier as unique"),
        ("title:str:default", "write the modifier as default=VALUE"),
        ("n:int:min=-3000000000", "outside the range of int"),
        ("n:int:min=5:default=1", "outside min..max"),
        ("flag:bool:default=maybe", "true or false"),
        ("flag:bool:unique", "does not apply to bool"),
        ("extra:json:index", "does not apply to json"),
        ("notes:text:unique", "does not apply to text"),
        ("when:date:default=today", "does not apply to date"),
        ("price:decimal=10", "precision.scale"),
        ("price:decimal=2.5", "precision.scale"),
        ("price:decimal=10.2:default=1.234", "more than 2 decimals"),
        ("status:enum", "lower-case choices"),
        ("status:enum=Draft", "lower-case choices"),
        ("status:enum=a,a", "repeat"),
        ("status:enum=a,b:default=c", "not one of the choices"),
        ("author:ref", "ref takes an entity name"),
        ("author:ref=author", "ref takes an entity name"),
        ("title:str=5", "takes no '=value'"),
        ("mail:email:default=nobody", "not an e-mail"),
        ("site:url:default=ftp://x", r"not an http\(s\) URL"),
        ("title:str:max=20000", "use text"),
    ],
)
def test_bad_tokens_name_the_token(token: str, message: str) -> None:
    with pytest.raises(SpecError, match=message) as raised:
        Field.parse(token)
    assert repr(token) in str(raised.value) or token.split(":", maxsplit=1)[0] in str(raised.value)


def test_duplicate_columns_are_refused() -> None:
    with pytest.raises(SpecError, match="clashes"):
        Fields.parse(["author:ref=Author", "author_id:int"])


@pytest.mark.parametrize(
    "token",
    [
        "title:str:unique",
        "n:int:unique",
        "d:decimal:unique",
        "e:email:unique",
        "u:url:unique",
        "i:uuid:unique",
    ],
)
def test_unique_samples_differ(token: str) -> None:
    field = Field.parse(token)
    namespace = {"number": 1}
    first = eval(field.payload_expression(), {}, namespace)
    namespace["number"] = 2
    assert first != eval(field.payload_expression(), {}, namespace)


@pytest.mark.parametrize("token", ["p:decimal=4.2", "p:decimal=2.2", "p:decimal=6.3:min=10"])
def test_decimal_samples_fit_their_digits(token: str) -> None:
    """decimal=4.2 holds at most 99.99: the samples of generated tests stay within it."""
    field = Field.parse(token)
    largest = Decimal(10) ** (field.precision - field.scale) - Decimal(1).scaleb(-field.scale)
    for number in range(2000):
        assert Decimal(str(field.sample(number))) <= largest, (token, number)


@pytest.mark.parametrize(
    ("token", "parameters"),
    [
        ("title:str:index", {"title": "equal", "title_contains": "contains"}),
        ("notes:text?:filter", {"notes_contains": "contains"}),
        ("mail:email:unique", {"mail": "equal", "mail_contains": "contains"}),
        ("site:url:filter", {"site": "equal", "site_contains": "contains"}),
        ("pages:int:filter", {"pages": "equal", "pages_min": "min", "pages_max": "max"}),
        ("views:bigint:index", {"views": "equal", "views_min": "min", "views_max": "max"}),
        ("price:decimal:filter", {"price": "equal", "price_min": "min", "price_max": "max"}),
        ("rating:float:filter", {"rating_min": "min", "rating_max": "max"}),
        ("rating:float:index", {"rating_min": "min", "rating_max": "max"}),
        ("born:date:filter", {"born": "equal", "born_min": "min", "born_max": "max"}),
        ("at:datetime:index", {"at": "equal", "at_min": "min", "at_max": "max"}),
        ("at:datetime:filter", {"at": "equal", "at_min": "min", "at_max": "max"}),
        ("code:uuid:unique", {"code": "equal"}),
        ("done:bool", {"done": "equal"}),
        ("status:enum=a,b", {"status": "any"}),
        ("author:ref=Author", {"author_id": "any"}),
        ("at:datetime:sort", {}),
        ("title:str", {}),
        ("extra:json?", {}),
    ],
)
def test_list_parameters_follow_one_convention(token: str, parameters: dict[str, str]) -> None:
    """Every modifier that asks for filters gets every filter of the type: no silent no-op."""
    assert dict(Field.parse(token).query_parameters()) == parameters


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        (
            ["price:int:filter", "price_min:int:filter"],
            "'price_min' is taken by 'price:int:filter'",
        ),
        (["price_max:int:index", "price:decimal:filter"], "'price_max' is taken by"),
        (["title:str:index", "title_contains:str:filter"], "'title_contains' is taken by"),
        (["at_min:date:filter", "at:datetime:index"], "'at_min' is taken by 'at_min:date:filter'"),
    ],
)
def test_list_parameters_that_clash_are_refused(tokens: list[str], message: str) -> None:
    with pytest.raises(SpecError, match=message) as raised:
        Fields.parse(tokens)
    assert len(str(raised.value).splitlines()) == 1


def test_a_field_named_like_a_parameter_is_fine_while_neither_clashes() -> None:
    """`price` without filters takes no parameter: `price_min` may filter by its own name."""
    fields = Fields.parse(["price:int", "price_min:int:filter", "price_max:int"])
    assert [name for item in fields.items for name, _ in item.query_parameters()] == [
        "price_min",
        "price_min_min",
        "price_min_max",
    ]


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("title:str:index:filter", "modifier 'filter' changes nothing: index filters already"),
        ("isbn:str:unique:filter", "modifier 'filter' changes nothing: unique filters already"),
        ("done:bool:filter", "modifier 'filter' changes nothing: every bool filters already"),
        ("status:enum=a,b:filter", "every enum filters already"),
        ("author:ref=Author:filter", "every ref filters already"),
        ("at:datetime:index:sort", "modifier 'sort' changes nothing: index sorts already"),
        ("isbn:str:unique:sort", "modifier 'sort' changes nothing: unique sorts already"),
    ],
)
def test_modifiers_that_change_nothing_are_refused(token: str, message: str) -> None:
    field = Field.parse(token)  # a stored spec may hold it: gen refuses it when given
    with pytest.raises(SpecError, match=message) as raised:
        field.check_modifiers_matter()
    assert str(raised.value).startswith(repr(token))


@pytest.mark.parametrize(
    "token",
    ["at:datetime:filter", "t:text:filter", "f:float:filter", "n:int:filter:sort", "s:str:index"],
)
def test_modifiers_that_matter_are_accepted(token: str) -> None:
    Field.parse(token).check_modifiers_matter()
