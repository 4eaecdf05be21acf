"""Matching rows to records: by record number (read, never written) and emails in any case."""

from __future__ import annotations

from pathlib import Path

import pytest

from defalto_gql.transfer.mapping import MappingError
from tests.conftest import Api
from tests.transfer.conftest import csv_file, run_import
from tests.transfer.test_exporting import export


async def titles(api: Api) -> dict[str, str | None]:
    found = await api.query("{ contacts { edges { node { lastName title } } } }")
    return {e["node"]["lastName"]: e["node"]["title"] for e in found["contacts"]["edges"]}


async def test_an_export_edited_and_imported_on_record_number_updates_its_records(
    api: Api, tmp_path: Path
) -> None:
    # Given two contacts, exported with their record numbers
    made = await api.query('mutation { createContacts(data: [{lastName: "A", title: "x"}, '
                           '{lastName: "B", title: "y"}]) { recordNumber } }')
    a, b = (c["recordNumber"] for c in made["createContacts"])
    text = await export(api, "Contact", fields=["recordNumber", "lastName", "title"])

    # When the titles are edited, B's number is written in lower case, and rows are added
    # with no number and with a number no record has
    edited = text.replace(",x\r\n", ",CEO\r\n").replace(f"{b},B,y", f"{b.lower()},B,CTO")
    path = csv_file(tmp_path, edited + "CON-999999,D,z\r\n,C,new\r\n")
    report = await run_import(api, "Contact", path, match=("recordNumber",),
                              on_duplicate="update")

    # Then both records are updated, the unnumbered row is created, the unknown number
    # is a row error naming the column, and no record number was written
    assert (report.updated, report.created, report.rejected) == (2, 1, 1), report.problems
    problem = report.problems[0]
    assert (problem.line, problem.column) == (4, "Record number")
    assert "no Contact has the record number 'CON-999999'" in problem.reason
    assert await titles(api) == {"A": "CEO", "B": "CTO", "C": "new"}
    found = await api.query('{ contacts(filter: {lastName: {in: ["A", "B"]}}) '
                            "{ edges { node { recordNumber } } } }")
    assert sorted(e["node"]["recordNumber"] for e in found["contacts"]["edges"]) == \
        sorted([a, b])


async def test_a_mapped_record_number_column_is_read_only_to_match_on(
    api: Api, tmp_path: Path
) -> None:
    # Given a contact and a file naming its record number in a column of another name
    made = await api.query('mutation { createContact(data: {lastName: "A"}) '
                           "{ recordNumber } }")
    number = made["createContact"]["recordNumber"]
    path = csv_file(tmp_path, f"No,Last name,Title\r\n{number},A,CEO\r\n")
    rules = {"columns": {"No": "recordNumber"}}

    # When it is imported matching on the record number, and without a match
    report = await run_import(api, "Contact", path, mapping=rules, match=("recordNumber",),
                              on_duplicate="update")
    with pytest.raises(MappingError, match="only to match on"):
        await run_import(api, "Contact", path, mapping=rules)

    # Then the first updated the contact; the second was refused before reading a row
    assert (report.updated, report.rejected) == (1, 0), report.problems
    assert report.mapped_columns["No"] == "recordNumber"
    assert await titles(api) == {"A": "CEO"}


async def test_emails_match_ignoring_case_in_the_database_and_in_the_file(
    api: Api, tmp_path: Path
) -> None:
    # Given a contact with a lower-case email
    await api.query('mutation { createContact(data: {lastName: "M", email: "mm@t.test"}) '
                    "{ id } }")

    # When a file names it in upper case, and another address twice in two cases
    path = csv_file(tmp_path, "Last name,Email\r\nM,MM@T.TEST\r\nN,nn@t.test\r\n"
                              "N,NN@t.test\r\n")
    report = await run_import(api, "Contact", path, match=("email",))
    again = await run_import(api, "Contact", path, match=("email",))

    # Then only the new address is created, once; a second run creates nothing
    assert (report.created, report.skipped, report.rejected) == (1, 2, 0), report.problems
    assert (again.created, again.skipped) == (0, 3)
