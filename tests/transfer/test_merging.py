"""Merging duplicates: the record keeps its values, empty fields are filled, conflicts listed."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from defalto_gql.transfer.reports import ImportReport
from tests.conftest import Api
from tests.transfer.conftest import csv_file, run_import

ADA = '{ contacts(filter: {email: {eq: "ada@example.com"}}) { totalCount edges { node { ' \
      "firstName lastName title department birthday } } } }"


async def test_a_merge_fills_empty_fields_and_keeps_values_that_differ(
    api: Api, tmp_path: Path
) -> None:
    # Given a contact with a title and no department or birthday
    first = csv_file(tmp_path, "Last name,Email,Title\nLovelace,ada@example.com,Countess\n")
    await run_import(api, "Contact", first)
    # And a file with the same email, another title, a department and a birthday
    second = csv_file(tmp_path, "Last name,Email,Title,Department,Birthday\n"
                                "LOVELACE ,ada@example.com,Analyst,Engines,1815-12-10\n"
                                "Hopper,grace@example.com,Admiral,Navy,\n")
    notes = tmp_path / "duplicates.csv"

    # When it is imported matching on email, merging
    report = await run_import(api, "Contact", second, match=("email",), on_duplicate="merge",
                              duplicates=notes)

    # Then the new person is created and Ada merged: empty fields filled, the title kept
    assert (report.created, report.merged, report.updated, report.skipped) == (1, 1, 0, 0)
    assert report.conflicted == 1
    note = report.duplicates[0]
    assert (note.line, note.action, note.score) == (2, "merged", None)
    assert note.filled == ("birthday", "department")
    # The last name differs only in case and spaces: the same value, no conflict
    assert note.conflicts == ("title",)
    found = await api.query(ADA)
    assert found["contacts"]["totalCount"] == 1
    assert found["contacts"]["edges"][0]["node"] == {
        "firstName": None, "lastName": "Lovelace", "title": "Countess",
        "department": "Engines", "birthday": "1815-12-10"}
    with notes.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [(r["line"], r["action"], r["filled"], r["conflicts"]) for r in rows] == [
        ("2", "merged", "birthday;department", "title")]


async def test_merging_the_same_file_twice_changes_nothing_the_second_time(
    api: Api, tmp_path: Path
) -> None:
    path = csv_file(tmp_path, "Last name,Email,Title\nA,a@example.com,CEO\nB,b@example.com,\n")

    first = await run_import(api, "Contact", path, match=("email",), on_duplicate="merge")
    second = await run_import(api, "Contact", path, match=("email",), on_duplicate="merge")

    assert (first.created, first.merged) == (2, 0)
    assert (second.created, second.merged, second.conflicted) == (0, 2, 0)
    assert all(note.filled == () for note in second.duplicates)
    found = await api.query("{ contacts { totalCount } }")
    assert found["contacts"]["totalCount"] == 2


async def test_a_merge_dry_run_reports_and_writes_nothing(api: Api, tmp_path: Path) -> None:
    first = csv_file(tmp_path, "Last name,Email\nLovelace,ada@example.com\n")
    await run_import(api, "Contact", first)
    second = csv_file(tmp_path, "Last name,Email,Title\nLovelace,ada@example.com,Countess\n")

    report = await run_import(api, "Contact", second, match=("email",), on_duplicate="merge",
                              dry_run=True)

    assert (report.merged, report.duplicates[0].filled) == (1, ("title",))
    found = await api.query(ADA)
    assert found["contacts"]["edges"][0]["node"]["title"] is None


async def test_a_merged_value_that_is_invalid_rejects_the_row(api: Api, tmp_path: Path) -> None:
    first = csv_file(tmp_path, "Last name,Email\nLovelace,ada@example.com\n")
    await run_import(api, "Contact", first)
    second = csv_file(tmp_path, "Last name,Email,Birthday\nLovelace,ada@example.com,1815-02-30\n")

    report = await run_import(api, "Contact", second, match=("email",), on_duplicate="merge")

    assert (report.merged, report.rejected) == (0, 1)
    assert report.problems[0].column == "Birthday"


def _outcome(report: ImportReport) -> tuple[Any, ...]:
    notes = [(n.line, n.action, n.filled, n.conflicts) for n in report.duplicates]
    return (report.created, report.merged, report.rejected, report.conflicted, notes)


async def test_a_merge_dry_run_into_rows_of_the_same_file_reports_what_the_real_run_does(
    api: Api, tmp_path: Path
) -> None:
    # Given a file whose later rows resemble its first one (detected, not matched)
    path = csv_file(tmp_path, "First name,Last name,Email,Title\n"
                              "Aa,Bb,,CEO\n"
                              "Aa,Bb,a@example.com,CTO\n"
                              "Aa,Bb,b@example.com,\n")
    options: dict[str, Any] = {"detect": ("firstName", "lastName"), "on_duplicate": "merge"}

    # When it is imported dry, then for real
    dry = await run_import(api, "Contact", path, dry_run=True, **options)
    real = await run_import(api, "Contact", path, **options)

    # Then both report one created and two merged: the second row fills the email,
    # the third finds it filled (a conflict), and neither overwrites the other
    assert _outcome(dry) == _outcome(real) == (1, 2, 0, 2, [
        (3, "merged", ("email",), ("title",)), (4, "merged", (), ("email",))])
    found = await api.query("{ contacts { totalCount edges { node { email title } } } }")
    assert found["contacts"]["edges"] == [{"node": {"email": "a@example.com", "title": "CEO"}}]


async def test_a_merge_dry_run_of_a_key_repeated_in_the_file_reports_what_the_real_run_does(
    api: Api, tmp_path: Path
) -> None:
    path = csv_file(tmp_path, "Last name,Email,Title\nLovelace,ada@example.com,\n"
                              "Lovelace,ada@example.com,Countess\n"
                              "Lovelace,ada@example.com,Analyst\n")
    options: dict[str, Any] = {"match": ("email",), "on_duplicate": "merge"}

    dry = await run_import(api, "Contact", path, dry_run=True, **options)
    real = await run_import(api, "Contact", path, **options)

    assert _outcome(dry) == _outcome(real) == (1, 2, 0, 1, [
        (3, "merged", ("title",), ()), (4, "merged", (), ("title",))])
