"""Cells of money, date-and-time and time fields: what the import reads, and what it refuses.

The import takes what the API takes, written the ways people write it; a cell it
cannot read is a row error naming the column and saying what to write instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Api
from tests.transfer.conftest import csv_file, run_import

REVENUES = "{ accounts(orderBy: [{name: AscNullsLast}]) { edges { node { name " \
           "annualRevenue { amount currency } } } } }"


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
