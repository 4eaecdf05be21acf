"""Every field type, end to end on a custom module, and the text parsing of each type.

The module is created once per test session through the administration path
(``admin.create_module`` / ``create_field``), with a name of its own so it
never meets a module of an earlier run.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from defalto_gql.metadata import admin
from defalto_gql.metadata.fieldtypes import FIELD_TYPES
from defalto_gql.metadata.model import FieldDef
from tests.conftest import Api
from tests.transfer.conftest import csv_file, run_import

OWNER = "00000000-0000-0000-0000-0000000000aa"

FIELDS: list[dict[str, Any]] = [
    {"name": "title", "type": "text", "maxLength": 20},
    {"name": "notes", "type": "longtext"},
    {"name": "count", "type": "integer", "min": 0, "max": 1000},
    {"name": "weight", "type": "decimal", "precision": 10, "scale": 3},
    {"name": "price", "type": "currency"},
    {"name": "share", "type": "percent", "min": 0, "max": 100},
    {"name": "active", "type": "boolean"},
    {"name": "bornOn", "type": "date"},
    {"name": "seenAt", "type": "datetime"},
    {"name": "opensAt", "type": "time"},
    {"name": "email", "type": "email"},
    {"name": "phone", "type": "phone"},
    {"name": "website", "type": "url"},
    {"name": "ageBand", "type": "picklist", "values": ["0-18", "19-49", "50+"]},
    {"name": "tags", "type": "multipicklist",
     "values": ["50+", "0-18", "Glass / Ceramics", "Closed Won"]},
    {"name": "account", "type": "reference", "targets": ["Account"]},
    {"name": "subject", "type": "reference", "targets": ["Account", "Contact"]},
    {"name": "keeper", "type": "owner"},
    {"name": "stars", "type": "rating"},
    {"name": "extra", "type": "json"},
    {"name": "startsOn", "type": "date", "default": "2024-01-31"},
]


@dataclass(frozen=True)
class Module:
    """GraphQL names of the session's custom module."""

    name: str
    plural: str

    @property
    def single(self) -> str:
        return self.name[0].lower() + self.name[1:]

    @property
    def list(self) -> str:
        return self.plural[0].lower() + self.plural[1:]


@pytest.fixture(scope="session")
async def module(api: Api) -> Module:
    """A custom module holding one field of every type, created through the admin path."""
    number = uuid.uuid4().int % 10**6
    found = Module(f"Specimen{number}", f"Specimens{number}")
    async with api.engine.begin() as conn:
        await admin.create_module(conn, {"name": found.name, "plural": found.plural,
                                         "label": "Specimen", "labelField": "title"},
                                  shipped=False)
        for spec in FIELDS:
            await admin.create_field(conn, found.name, {"label": spec["name"], **spec},
                                     shipped=False)
    await api.runtime.refresh()
    return found


@pytest.fixture
async def targets(api: Api) -> dict[str, str]:
    """An account and a contact for the reference fields to point at."""
    data = await api.query('mutation { createAccount(data: {name: "Acme"}) { id } '
                           'createContact(data: {lastName: "Ada"}) { id } }')
    return {"$account": data["createAccount"]["id"], "$contact": data["createContact"]["id"]}


@dataclass(frozen=True)
class Case:
    """One field: a value and how it reads back, a value it refuses, a filter it matches."""

    field: str
    value: Any
    read: Any
    bad: Any
    where: dict[str, Any]
    selection: str = ""
    # Where GraphQL itself refuses the bad value (a scalar that cannot parse it), the
    # error names the field in its message only.
    coerced: bool = False

    @property
    def input_name(self) -> str:
        return f"{self.field}Id" if self.field == "account" else self.field


CASES = [
    Case("title", "Hello, World", "Hello, World", "x" * 21, {"startsWith": "Hello"}),
    Case("notes", "line 1\nline 2", "line 1\nline 2", "a\x00b", {"contains": "LINE 2"}),
    Case("count", 42, 42, -1, {"gt": 41}),
    Case("weight", "3.125", "3.125", "1.2345", {"gte": "3.125"}),
    Case("price", {"amount": "1234.50", "currency": "EUR"},
         {"price": {"amount": "1234.50", "currency": "EUR"}},
         {"amount": "1.00", "currency": "euro"},
         {"amount": {"lt": "2000"}, "currency": {"eq": "EUR"}}, "price { amount currency }"),
    Case("share", "12.5", "12.5000", "100.5", {"in": ["12.5"]}),
    Case("active", True, True, "yes", {"eq": True}, coerced=True),
    Case("bornOn", "2024-02-29", "2024-02-29", "2023-02-30", {"lte": "2024-02-29"},
         coerced=True),
    Case("seenAt", "2024-05-01T09:30:00+02:00", "2024-05-01T07:30:00+00:00",
         "2024-05-01T09:30:00", {"gt": "2024-05-01T07:00:00Z"}),
    Case("opensAt", "09:30:00", "09:30:00", "25:00", {"lt": "10:00:00"}, coerced=True),
    Case("email", "ada@example.org", "ada@example.org", "ada@", {"ilike": "%@EXAMPLE.org"}),
    Case("phone", "+1 (240) 452-2332 x4601", "+1 (240) 452-2332 x4601", "call me",
         {"eq": "+1 (240) 452-2332 x4601"}),
    Case("website", "www.example.com", "www.example.com", "ftp://example.com",
         {"like": "%example%"}),
    Case("ageBand", "50+", "50+", "51+", {"in": ["50+", "0-18"]}),
    Case("tags", ["Glass / Ceramics", "50+"], ["50+", "Glass / Ceramics"], ["50+", "50+"],
         {"hasAll": ["Glass / Ceramics"]}),
    Case("account", "$account", {"accountId": "$account", "account": {"name": "Acme"}},
         str(uuid.UUID(int=7)), {"eq": "$account"}, "accountId account { name }"),
    Case("subject", {"module": "Contact", "id": "$contact"},
         {"subjectId": "$contact", "subjectModule": "Contact",
          "subject": {"__typename": "Contact", "id": "$contact"}},
         {"module": "Deal", "id": "$account"}, {"eq": "Contact"},
         "subjectId subjectModule subject { __typename id }"),
    Case("keeper", OWNER, OWNER, "not-an-id", {"eq": OWNER}),
    Case("stars", 4, 4, 6, {"gte": 4}),
    Case("extra", {"colour": "red", "sizes": [1, 2.5], "none": None},
         {"colour": "red", "sizes": [1, 2.5], "none": None}, {"note": "a\x00b"},
         {"contains": {"colour": "red"}}),
]
IDS = [case.field for case in CASES]


def bind(value: Any, ids: dict[str, str]) -> Any:
    """Replace ``$account`` / ``$contact`` placeholders with the ids of this test's records."""
    if isinstance(value, str):
        return ids.get(value, value)
    if isinstance(value, list):
        return [bind(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: bind(v, ids) for k, v in value.items()}
    return value


def filter_key(case: Case) -> str:
    return {"account": "accountId", "subject": "subjectModule"}.get(case.field, case.field)


async def create(api: Api, module: Module, data: dict[str, Any]) -> str:
    query = (f"mutation($d: {module.name}CreateInput!) "
             f"{{ create{module.name}(data: $d) {{ id }} }}")
    return str((await api.query(query, {"d": data}))[f"create{module.name}"]["id"])


async def read(api: Api, module: Module, ident: str, selection: str) -> dict[str, Any]:
    query = f"query($id: ID!) {{ {module.single}(id: $id) {{ {selection} }} }}"
    found: dict[str, Any] = (await api.query(query, {"id": ident}))[module.single]
    return found


def test_the_module_covers_every_type_one_can_add() -> None:
    addable = {key for key, kind in FIELD_TYPES.items() if kind.writable}
    assert {spec["type"] for spec in FIELDS} == addable


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_a_value_round_trips(api: Api, module: Module, targets: dict[str, str],
                                   case: Case) -> None:
    # given a record created with this field's value
    ident = await create(api, module, {case.input_name: bind(case.value, targets)})

    # when reading it back
    found = await read(api, module, ident, case.selection or case.field)

    # then the value is exactly what was given (in the type's canonical form)
    expected = case.read if case.selection else {case.field: case.read}
    assert found == bind(expected, targets)


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_an_invalid_value_is_bad_user_input_naming_the_field(
    api: Api, module: Module, targets: dict[str, str], case: Case
) -> None:
    # when creating a record with a value this field refuses
    query = (f"mutation($d: {module.name}CreateInput!) "
             f"{{ create{module.name}(data: $d) {{ id }} }}")
    errors = await api.errors(query, {"d": {case.input_name: bind(case.bad, targets)}})

    # then the client is told which field is wrong, and nothing is written
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    if case.coerced:
        assert case.input_name in errors[0]["message"]
    else:
        assert errors[0]["extensions"]["field"] == case.input_name
    total = await api.query(f"{{ {module.list} {{ totalCount }} }}")
    assert total[module.list]["totalCount"] == 0


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_a_filter_operator_matches(api: Api, module: Module, targets: dict[str, str],
                                         case: Case) -> None:
    # given a record with this field's value and one without
    ident = await create(api, module, {case.input_name: bind(case.value, targets)})
    await create(api, module, {})

    # when filtering with one of the type's operators
    query = (f"query($f: {module.name}Filter) {{ {module.list}(filter: $f) "
             "{ edges { node { id } } } }")
    where = {filter_key(case): bind(case.where, targets)}
    data = await api.query(query, {"f": where})

    # then only the first matches
    assert [e["node"]["id"] for e in data[module.list]["edges"]] == [ident]


async def test_a_value_can_be_cleared(api: Api, module: Module) -> None:
    ident = await create(api, module, {"tags": ["0-18"], "price": {"amount": "1",
                                                                    "currency": "USD"}})
    query = (f"mutation($id: ID!) {{ update{module.name}(id: $id, "
             "data: {tags: null, price: null}) { tags price { amount } } }")
    data = await api.query(query, {"id": ident})
    assert data[f"update{module.name}"] == {"tags": None, "price": None}


async def test_a_reference_filters_through_its_record(
    api: Api, module: Module, targets: dict[str, str]
) -> None:
    ident = await create(api, module, {"accountId": targets["$account"]})
    await create(api, module, {})
    query = (f"{{ {module.list}(filter: {{account: {{name: {{eq: \"Acme\"}}}}}}) "
             "{ edges { node { id } } } }")
    data = await api.query(query)
    assert [e["node"]["id"] for e in data[module.list]["edges"]] == [ident]


@pytest.mark.parametrize(("where", "expected"), [
    ({"hasAny": ["0-18", "Closed Won"]}, ["both", "young"]),
    ({"hasAll": ["50+", "0-18"]}, ["both"]),
    ({"hasNone": ["50+"]}, ["none", "young"]),
    ({"eq": ["0-18", "50+"]}, ["both"]),
    ({"eq": ["0-18"]}, ["young"]),
    ({"is": "NULL"}, ["none"]),
], ids=["hasAny", "hasAll", "hasNone-keeps-empty", "eq-any-order", "eq-whole-set", "is-null"])
async def test_multipicklist_operators(api: Api, module: Module, where: dict[str, Any],
                                       expected: list[str]) -> None:
    # given records holding both labels, one label, and none
    for title, tags in (("both", ["50+", "0-18"]), ("young", ["0-18"]), ("none", None)):
        await create(api, module, {"title": title, "tags": tags})

    # when filtering on the multi-picklist
    query = (f"query($f: {module.name}Filter) {{ {module.list}(filter: $f) "
             "{ edges { node { title } } } }")
    data = await api.query(query, {"f": {"tags": where}})

    # then
    assert sorted(e["node"]["title"] for e in data[module.list]["edges"]) == expected


async def test_a_default_given_as_text_is_applied_on_create(api: Api, module: Module) -> None:
    # given the date field startsOn with the default "2024-01-31"
    # when creating a record without it; then it holds the default date
    ident = await create(api, module, {"title": "t"})
    assert await read(api, module, ident, "startsOn") == {"startsOn": "2024-01-31"}


# -- parse_text: values from CSV cells and metadata defaults --------------------------


def field(type_key: str, **options: Any) -> FieldDef:
    picklist = tuple(options.pop("values", ()))
    return FieldDef(0, "M", "f", "F", type_key, "c", options=options, picklist=picklist)


@pytest.mark.parametrize(("type_key", "text", "expected"), [
    ("text", "  kept as typed ", "  kept as typed "),
    ("longtext", "a\nb", "a\nb"),
    ("integer", " 1,234 ", 1234),
    ("integer", "-7", -7),
    ("decimal", " 1,234.50", Decimal("1234.50")),
    ("decimal", "1 234.5", Decimal("1234.5")),
    ("decimal", "1_000", Decimal("1000")),
    ("percent", "12.5", Decimal("12.5")),
    ("decimal", "1\u00a0234.5", Decimal("1234.5")),
    ("integer", "1\u202f234", 1234),
    ("rating", "4", 4),
    ("currency", "1200.50 EUR", {"amount": Decimal("1200.50"), "currency": "EUR"}),
    ("currency", "EUR 1,200.50", {"amount": Decimal("1200.50"), "currency": "EUR"}),
    ("currency", "99 usd", {"amount": Decimal("99"), "currency": "USD"}),
    ("boolean", "Yes", True),
    ("boolean", "x", True),
    ("boolean", "0", False),
    ("boolean", "", False),
    ("date", "31.12.2023", dt.date(2023, 12, 31)),
    ("date", "12/31/2023", dt.date(2023, 12, 31)),
    ("date", "1/2/2023", dt.date(2023, 1, 2)),
    ("date", "20231231", dt.date(2023, 12, 31)),
    ("date", " 2023-12-31 ", dt.date(2023, 12, 31)),
    ("datetime", "2024-05-01T09:30:00Z", dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.UTC)),
    ("datetime", "2024-05-01T09:30:00+02:00",
     dt.datetime(2024, 5, 1, 7, 30, tzinfo=dt.UTC)),
    ("datetime", "2024-05-01 09:30z", dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.UTC)),
    ("datetime", " 01.05.2024 9:30 +02:00 ", dt.datetime(2024, 5, 1, 7, 30, tzinfo=dt.UTC)),
    ("datetime", "20240501T093000-0130", dt.datetime(2024, 5, 1, 11, 0, tzinfo=dt.UTC)),
    ("datetime", "2024-05-01T09:30:00.25+05", dt.datetime(2024, 5, 1, 4, 30, 0, 250000,
                                                          tzinfo=dt.UTC)),
    ("time", "09:30", dt.time(9, 30)),
    ("time", " 23:59:59 ", dt.time(23, 59, 59)),
    ("email", "ada@example.org", "ada@example.org"),
    ("phone", "+1 (240) 452-2332", "+1 (240) 452-2332"),
    ("url", "www.example.com", "www.example.com"),
    ("picklist", "50+", "50+"),
    ("multipicklist", "50+;0-18", ["50+", "0-18"]),
    ("multipicklist", '"a;b"; c', ["a;b", "c"]),
    ("multipicklist", " ", []),
    ("reference", " 0A1B2C3D-0000-4000-8000-000000000001 ",
     "0a1b2c3d-0000-4000-8000-000000000001"),
    ("owner", "0a1b2c3d-0000-4000-8000-000000000001", "0a1b2c3d-0000-4000-8000-000000000001"),
    ("json", '{"a": [1, null]}', {"a": [1, None]}),
    ("json", "3", 3),
])
def test_parse_text(type_key: str, text: str, expected: Any) -> None:
    assert field(type_key).type.parse_text(field(type_key), text) == expected


def test_slashed_dates_follow_day_first() -> None:
    day_first = field("date", dayFirst=True)
    assert day_first.type.parse_text(day_first, "12/01/2023") == dt.date(2023, 1, 12)
    assert field("date").type.parse_text(field("date"), "12/01/2023") == dt.date(2023, 12, 1)


def test_a_bare_amount_takes_the_default_currency() -> None:
    f = field("currency", defaultCurrency="CHF")
    assert f.type.parse_text(f, "5") == {"amount": Decimal("5"), "currency": "CHF"}


def test_a_bare_amount_without_a_default_currency_says_what_it_needs() -> None:
    f = field("currency")
    with pytest.raises(ValueError, match=r"^'1,234.56' needs a currency code, such as "
                                         r"1,234.56 EUR$"):
        f.type.parse_text(f, " 1,234.56 ")


def test_a_currency_code_with_a_line_break_is_refused_not_left_to_the_database() -> None:
    # "EUR\n" has the form of a code up to its line break; the column holds three characters
    f = field("currency")
    with pytest.raises(ValueError, match="three-letter ISO 4217 code"):
        f.type.write(f, {"amount": Decimal(1), "currency": "EUR\n"})


@pytest.mark.parametrize(("type_key", "text"), [
    ("integer", "1.5"),
    ("integer", "twelve"),
    ("decimal", "1.234,5"),
    ("decimal", "1,23"),
    ("decimal", "1e5"),
    ("integer", "\u0663"),
    ("integer", "\uff11\uff12"),
    ("decimal", "--1"),
    ("decimal", "NaN"),
    ("decimal", "Infinity"),
    ("decimal", ""),
    ("currency", "EUR"),
    ("currency", "99"),
    ("currency", "99 euro"),
    ("currency", "$99"),
    ("boolean", "maybe"),
    ("date", "31.02.2023"),
    ("date", "02/30/2023"),
    ("date", "13/01/2023"),
    ("date", "2023-13-01"),
    ("date", "yesterday"),
    ("datetime", "2024-05-01T25:00"),
    ("datetime", "2024-05-01 09:30"),
    ("datetime", "2024-05-01"),
    ("datetime", "05/01/2024 09:30Z"),
    ("time", "09:05:00+02:00"),
    ("multipicklist", "Alpha;\nBeta"),
    ("multipicklist", 'Alpha;"Beta'),
    ("time", "25:00"),
    ("reference", "nope"),
    ("owner", ""),
    ("json", "{bad"),
])
def test_parse_text_refuses(type_key: str, text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        field(type_key).type.parse_text(field(type_key), text)


def test_a_date_and_time_without_an_offset_says_what_to_add() -> None:
    f = field("datetime")
    with pytest.raises(ValueError, match=r"^'31.12.2023 10:00' needs a time zone offset at "
                                         r"its end, such as 2023-12-31 10:00\+01:00 or "
                                         r"2023-12-31 09:00Z$"):
        f.type.parse_text(f, "31.12.2023 10:00")
    with pytest.raises(ValueError, match=r"^'2023-12-31' needs a time and a time zone offset"):
        f.type.parse_text(f, "2023-12-31")


def test_a_slashed_date_and_time_is_read_in_the_order_given_and_refused_without_one() -> None:
    month_first, day_first = field("datetime", dayFirst=False), field("datetime", dayFirst=True)
    assert month_first.type.parse_text(month_first, "01/02/2024 10:00Z") == \
        dt.datetime(2024, 1, 2, 10, tzinfo=dt.UTC)
    assert day_first.type.parse_text(day_first, "01/02/2024 10:00Z") == \
        dt.datetime(2024, 2, 1, 10, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="a slashed date may be day or month first"):
        field("datetime").type.parse_text(field("datetime"), "01/02/2024 10:00Z")


def test_a_time_of_day_with_an_offset_is_refused_not_stripped() -> None:
    f = field("time")
    with pytest.raises(ValueError, match=r"^'09:05:00\+02:00' has a time zone offset, which a "
                                         r"time of day does not keep: write 09:05:00$"):
        f.type.parse_text(f, "09:05:00+02:00")
    with pytest.raises(ValueError, match="stored without a time zone offset"):
        f.type.validate(f, dt.time(9, 5, tzinfo=dt.UTC))


def test_day_first_still_refuses_impossible_dates() -> None:
    f = field("date", dayFirst=True)
    with pytest.raises(ValueError, match="not a date"):
        f.type.parse_text(f, "31/02/2023")


def test_a_tiny_float_default_reads_in_plain_notation() -> None:
    f = field("decimal", scale=6)
    assert f.type.from_json(f, 0.00001) == Decimal("0.00001")


@pytest.mark.parametrize("moment", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00"])
async def test_a_date_time_outside_the_years_utc_can_hold_is_bad_user_input(
    api: Api, module: Module, moment: str
) -> None:
    # A moment given with an offset that puts it beyond year 9999 (or before year 1) in UTC
    create = (f"mutation($d: {module.name}CreateInput!) "
              f"{{ create{module.name}(data: $d) {{ id }} }}")
    created = await api.errors(create, {"d": {"title": "x", "seenAt": moment}})
    listed = await api.errors(
        f"query($f: {module.name}Filter) {{ {module.list}(filter: $f) {{ totalCount }} }}",
        {"f": {"seenAt": {"gt": moment}}})

    for errors in (created, listed):
        assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert errors[0]["extensions"]["field"] == "seenAt"
        assert "outside the years 1 to 9999 in UTC" in errors[0]["message"]


async def test_an_imported_date_time_outside_the_years_is_a_row_error(
    api: Api, module: Module, tmp_path: Path
) -> None:
    path = csv_file(tmp_path, "title,seenAt\nA,2024-05-01T09:30:00Z\n"
                              "B,9999-12-31T23:00:00-05:00\n")

    report = await run_import(api, module.name, path)

    assert (report.created, report.rejected) == (1, 1)
    assert report.problems[0].column == "seenAt"
    assert "outside the years 1 to 9999 in UTC" in report.problems[0].reason


async def test_imported_json_too_deep_or_unstorable_and_huge_numbers_are_row_errors(
    api: Api, module: Module, tmp_path: Path
) -> None:
    deep = "[" * 500 + "]" * 500
    digits = "9" * 5000
    path = csv_file(tmp_path, 'title,extra,count,weight,price\nGood,"{""a"": [1]}",3\n'
                              f'Deep,{deep},\nHalf,"""\\ud800""",\nNul,"""\\u0000""",\n'
                              f'Huge,,{digits}\nLong,{digits},\n'
                              f'Wide,,,{"9" * 10**6},\nPrice,,,,{"9" * 10**6} USD\n'
                              f'Tiny,,,0.{"0" * 10**5}1,\n')

    report = await run_import(api, module.name, path)

    assert (report.created, report.rejected) == (1, 8), report.problems
    reasons = {problem.line: (problem.column, problem.reason) for problem in report.problems}
    assert reasons[3] == ("extra", "nests more than 64 levels deep")
    assert reasons[4][0] == "extra" and "lone surrogate" in reasons[4][1]
    assert reasons[5] == ("extra", "contains a NUL character")
    assert reasons[6][0] == "count" and "int_max_str_digits" not in reasons[6][1]
    assert len(reasons[6][1]) < 200, reasons[6]
    assert reasons[7] == ("extra", "holds a number with too many digits")
    assert reasons[8] == ("weight", "is too large (at most 7 digits before the point)")
    assert reasons[9] == ("price", "is too large (at most 16 digits before the point)")
    assert reasons[10] == ("weight", "has more than 3 decimal places")
