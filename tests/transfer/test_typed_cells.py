"""Cells of money, date-and-time and time fields: what the import reads, and what it refuses.

The import takes what the API takes, written the ways people write it; a cell it
cannot read is a row error naming the column and saying what to write instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from defalto_gql.transfer.mapping import MappingError
from tests.conftest import Api
from tests.transfer.conftest import csv_file, run_import, unique

REVENUES = "{ accounts(orderBy: [{name: AscNullsLast}]) { edges { node { name " \
           "annualRevenue { amount currency } } } } }"


@pytest.fixture(scope="module")
async def moments(api: Api) -> tuple[str, str]:
    """A date-and-time field and a time field on Lead: their labels (names follow)."""
    labels = unique("Met at"), unique("Opens at")
    for label, kind in zip(labels, ("datetime", "time"), strict=True):
        await api.query("mutation($l: String!, $t: String!) { createField(module: "
                        '"Lead", data: {label: $l, type: $t}) { name } }',
                        {"l": label, "t": kind})
    return labels


async def field_names(api: Api, labels: tuple[str, ...]) -> list[str]:
    found = await api.query('{ module(name: "Lead") { fields { name label } } }')
    by_label = {f["label"]: f["name"] for f in found["module"]["fields"]}
    return [by_label[label] for label in labels]


async def revenues(api: Api) -> dict[str, object]:
    found = await api.query(REVENUES)
    return {e["node"]["name"]: e["node"]["annualRevenue"] for e in found["accounts"]["edges"]}


async def test_a_currency_code_is_read_in_any_case_and_a_symbol_is_refused(
    api: Api, tmp_path: Path
) -> None:
    # Given codes before or after the amount, in any case; a word and a symbol for codes
    path = csv_file(tmp_path, "Account name,Annual revenue\nA,1234.56 eur\nB,Usd 99\n"
                              "C,1234.56 euro\nD,$5\nE,EUR\n")

    report = await run_import(api, "Account", path)

    # Then the codes are stored in capitals; the other cells name the column and why
    assert (report.created, report.rejected) == (2, 3)
    assert [(p.line, p.column, p.reason) for p in report.problems] == [
        (4, "Annual revenue", "'euro' is not a currency code: write the three-letter "
                              "ISO 4217 code, such as 1200.50 EUR"),
        (5, "Annual revenue", "'$5': a currency symbol is not read; write the three-letter "
                              "ISO 4217 code, such as 1200.50 EUR"),
        (6, "Annual revenue", "'EUR' has no amount"),
    ]
    assert await revenues(api) == {"A": {"amount": "1234.56", "currency": "EUR"},
                                   "B": {"amount": "99.00", "currency": "USD"}}


async def test_an_amount_without_a_currency_is_a_row_error(api: Api, tmp_path: Path) -> None:
    path = csv_file(tmp_path, "Account name,Annual revenue\nA,1234.56\nB,1234.56 EUR\n")

    report = await run_import(api, "Account", path)

    assert (report.created, report.rejected) == (1, 1)
    assert [(p.line, p.column, p.reason) for p in report.problems] == [
        (2, "Annual revenue", "'1234.56' needs a currency code, such as 1234.56 EUR")]


@pytest.mark.parametrize("extend", [False, True])
async def test_the_mapping_names_the_currency_of_bare_amounts(
    api: Api, tmp_path: Path, extend: bool
) -> None:
    # Given bare amounts in several batches, and (extend) a picklist growing on the way,
    # after which the importer reloads its fields
    path = csv_file(tmp_path, "Account name,Annual revenue,Industry\nA,1054,\nB,20 EUR,Own\n"
                              "C,7,\n")
    # (the rule's code in any case, as cells are read)
    mapping = {"currencies": {"annualRevenue": "usd"},
               "extendPicklists": ["industry"] if extend else []}

    report = await run_import(api, "Account", path, batch_size=1, mapping=mapping)

    assert (report.created, report.rejected) == (3 if extend else 2, 0 if extend else 1)
    found = await revenues(api)
    assert found["A"] == {"amount": "1054.00", "currency": "USD"}
    assert found.get("C") == {"amount": "7.00", "currency": "USD"}


@pytest.mark.parametrize(("rules", "message"), [
    ({"currencies": {"annualRevenue": "usd1"}}, "currencies.annualRevenue must be a "
                                               "three-letter ISO 4217 code"),
    ({"currencies": {"employees": "USD"}}, "currencies: employees is not a currency field"),
    ({"currencies": {"Annual revenue": "USD"}}, "currencies: Account has no field named"),
])
async def test_a_currency_rule_names_a_currency_field_and_a_code(
    api: Api, tmp_path: Path, rules: dict[str, object], message: str
) -> None:
    path = csv_file(tmp_path, "Account name,Annual revenue\nA,1054\n")

    with pytest.raises(MappingError, match=message):
        await run_import(api, "Account", path, mapping=rules)


@pytest.mark.parametrize("code", ["ZZZ", "EU", "EURO", "E1R"])
async def test_the_import_takes_the_currency_codes_the_api_takes(
    api: Api, tmp_path: Path, code: str
) -> None:
    # The API checks a code's form (three capital letters), not the ISO 4217 list
    created = await api.raw('mutation($m: MoneyInput!) { createAccount(data: {name: "Api", '
                            "annualRevenue: $m}) { id } }",
                            {"m": {"amount": "5", "currency": code}})
    path = csv_file(tmp_path, f"Account name,Annual revenue\nCsv,5 {code.lower()}\n")

    report = await run_import(api, "Account", path)

    assert ("errors" not in created.json()) == (report.created == 1)


async def test_a_date_and_time_needs_its_offset_and_is_read_as_dates_are(
    api: Api, tmp_path: Path, moments: tuple[str, str]
) -> None:
    # Given moments written the ways people write them, with and without an offset
    met = moments[0]
    path = csv_file(tmp_path, f"Last name,{met}\nA,2023-12-31T10:00:00z\n"
                              "B,31.12.2023 10:00 +01:00\nC,20231231 10:00-0500\n"
                              "D,2023-12-31 10:00\nE,31.12.2023\nF,12/31/2023 10:00Z\n")

    report = await run_import(api, "Lead", path)

    # Then each is the moment it names; a moment without an offset is not read as UTC
    assert report.created == 4
    assert [(p.line, p.column, p.reason) for p in report.problems] == [
        (5, met, "'2023-12-31 10:00' needs a time zone offset at its end, such as "
                 "2023-12-31 10:00+01:00 or 2023-12-31 09:00Z"),
        (6, met, "'31.12.2023' needs a time and a time zone offset, such as "
                 "2023-12-31 10:00+01:00 or 2023-12-31 09:00Z"),
    ]
    [name] = await field_names(api, (met,))
    found = await api.query(f"{{ leads(orderBy: [{{lastName: AscNullsLast}}]) "
                            f"{{ edges {{ node {{ {name} }} }} }} }}")
    assert [e["node"][name] for e in found["leads"]["edges"]] == [
        "2023-12-31T10:00:00+00:00", "2023-12-31T09:00:00+00:00", "2023-12-31T15:00:00+00:00",
        "2023-12-31T10:00:00+00:00"]


@pytest.mark.parametrize(("day_first", "moment"), [
    (False, "2024-01-02T10:00:00+00:00"), (True, "2024-02-01T10:00:00+00:00")])
async def test_a_slashed_date_and_time_follows_the_day_first_choice(
    api: Api, tmp_path: Path, moments: tuple[str, str], day_first: bool, moment: str
) -> None:
    met = moments[0]
    path = csv_file(tmp_path, f"Last name,{met}\nA,01/02/2024 10:00Z\n")

    report = await run_import(api, "Lead", path, day_first=day_first)

    assert (report.created, report.rejected) == (1, 0), report.problems
    [name] = await field_names(api, (met,))
    found = await api.query(f"{{ leads {{ edges {{ node {{ {name} }} }} }} }}")
    assert found["leads"]["edges"][0]["node"][name] == moment


async def test_a_time_of_day_with_an_offset_is_refused_by_import_and_api(
    api: Api, tmp_path: Path, moments: tuple[str, str]
) -> None:
    opens = moments[1]
    [name] = await field_names(api, (opens,))
    path = csv_file(tmp_path, f"Last name,{opens}\nA,09:05\nB,09:05:00+02:00\n")

    report = await run_import(api, "Lead", path)
    refused = await api.errors(f'mutation {{ createLead(data: {{lastName: "C", '
                               f'{name}: "09:05:00+02:00"}}) {{ id }} }}')

    assert (report.created, report.rejected) == (1, 1)
    assert (report.problems[0].column, report.problems[0].reason) == (
        opens, "'09:05:00+02:00' has a time zone offset, which a time of day does not keep: "
               "write 09:05:00")
    assert refused[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "stored without a time zone offset: give 09:05:00 alone" in refused[0]["message"]
