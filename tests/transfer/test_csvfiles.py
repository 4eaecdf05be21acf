"""Reading CSV files as people send them: malformed quotes and Excel's ``sep=`` line.

A record the csv module would read as something else than its text says is
handed on as ``Malformed``, so its row is rejected and the rows after it keep
their real line numbers; Excel's first line ``sep=;`` names the delimiter.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from defalto_gql.transfer.csvfiles import CsvFileError, Malformed, fault, open_table
from defalto_gql.transfer.users import UserImporter, UserImportOptions
from tests.conftest import Api
from tests.transfer.conftest import csv_file, run_import, unique

CLOSED_EARLY = 'text follows the quote that closes the cell: inside a quoted cell a quote ' \
               'is written twice ("")'
OPENED_LATE = "spaces stand before the quote that opens the cell: a quoted cell starts " \
              "with its quote, right after the delimiter"


def read(path: Path, delimiter: str | None = None
         ) -> tuple[list[str], str, list[tuple[int, list[str], object]]]:
    """The header, the delimiter, and each row's line, cells and fault (the file checked)."""
    with open_table(path, delimiter=delimiter) as table:
        table.check()
        rows = [(line, list(cells), fault(cells, table.header)) for line, cells in table.rows()]
        return table.header, table.delimiter, rows


def test_text_after_a_closing_quote_marks_only_its_record(tmp_path: Path) -> None:
    # Given a malformed cell, a quoted line break before it and good rows after it
    path = csv_file(tmp_path, 'Last name,Company\nA,"x\ny"\nAC6,"a"b"\nAC7,ok\n')

    _, _, rows = read(path)

    # Then only that record is marked, naming its column, and the lines stay the file's
    assert rows == [(2, ["A", "x\ny"], None),
                    (4, ["AC6", 'ab"'], ("Company", CLOSED_EARLY)),
                    (5, ["AC7", "ok"], None)]


@pytest.mark.parametrize("dry_run", [False, True])
async def test_a_row_with_a_malformed_quote_is_rejected_and_the_others_imported(
    api: Api, tmp_path: Path, dry_run: bool
) -> None:
    path = csv_file(tmp_path, 'Last name,Company\nAC5,"x\ny"\nAC6,"a"b"\nAC7,ok\n')

    report = await run_import(api, "Lead", path, dry_run=dry_run)

    assert (report.created, report.rejected) == (2, 1)
    assert [(p.line, p.column, p.reason) for p in report.problems] == [
        (4, "Company", CLOSED_EARLY)]
    if not dry_run:
        found = await api.query("{ leads { edges { node { lastName company } } } }")
        assert sorted((e["node"]["lastName"], e["node"]["company"])
                      for e in found["leads"]["edges"]) == [("AC5", "x\ny"), ("AC7", "ok")]


@pytest.mark.parametrize(("text", "cells"), [
    ('Smith,12" pipe,w\n', ["Smith", '12" pipe', "w"]),
    ('"He said ""hi""",2,\n', ['He said "hi"', "2", ""]),
    ('"Grimes, Madden" ,x,y\n', ["Grimes, Madden ", "x", "y"]),
    ('a,"",""\n', ["a", "", ""]),
    ('a,b,"c"', ["a", "b", "c"]),
])
def test_quotes_written_the_csv_way_or_inside_text_are_read_as_they_are(
    tmp_path: Path, text: str, cells: list[str]
) -> None:
    _, _, rows = read(csv_file(tmp_path, "a,b,c\n" + text))

    assert rows == [(2, cells, None)]


def test_spaces_before_an_opening_quote_mark_the_record(tmp_path: Path) -> None:
    # The csv module would split "Acme, Inc" into two cells, filling the wrong columns
    _, _, rows = read(csv_file(tmp_path, 'Last name,Company,Title\nSmith, "Acme, Inc"\n'))

    assert rows == [(2, ["Smith", ' "Acme', ' Inc"'], ("Company", OPENED_LATE))]


def test_a_malformed_header_is_a_file_error(tmp_path: Path) -> None:
    with pytest.raises(CsvFileError, match=r"^line 1, the header: column 2: text follows"):
        read(csv_file(tmp_path, 'a,"b"c\nx,y\n'))


async def test_a_user_row_with_a_malformed_quote_is_rejected_and_the_others_written(
    api: Api, tmp_path: Path
) -> None:
    name = unique("Quoted")
    path = csv_file(tmp_path, f'email,name\nq1.{name[-6:]}@example.invalid,"{name}" x\n'
                              f"q2.{name[-6:]}@example.invalid,{name}\n")

    report = await UserImporter(api.runtime, UserImportOptions()).run(path)

    assert (report.created, report.rejected) == (1, 1)
    assert [(p.line, p.column, p.reason) for p in report.problems] == [(2, "name", CLOSED_EARLY)]


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_an_excel_sep_line_names_the_delimiter_and_lines_keep_their_numbers(
    tmp_path: Path, end: str
) -> None:
    text = end.join(["sep=;", "Last name;Company", 'A;"b;c"', "B;x", ""])

    header, delimiter, rows = read(csv_file(tmp_path, text))
    same, _, _ = read(csv_file(tmp_path, text), delimiter=";")

    assert (header, delimiter, same) == (["Last name", "Company"], ";", header)
    assert rows == [(3, ["A", "b;c"], None), (4, ["B", "x"], None)]


@pytest.mark.parametrize(("text", "delimiter", "message"), [
    ("sep=;\nLast name;Company\n", ",", r"^line 1 names the delimiter ';' \(sep=;\), but ',' "
                                        r"was given: give ';', or none$"),
    ("sep=a\nLast name\n", None, r"^line 1 names the delimiter 'a' \(sep=a\), which cannot "
                                 r"be one"),
    ("sep=;\n\n\nLast name\n", None, r"^lines 2 to 3 are blank: the header naming the columns "
                                     r"must be line 2, after the sep= line \(it seems to be "
                                     r"line 4;"),
    ("sep=;\n", None, r"^the file names no columns after its sep= line$"),
    ('sep=;\nLast name;Company\nA;x\nB;"open\n', None, r"^line 4: a quote opens a cell that "
                                                       r"is never closed"),
])
def test_a_sep_line_that_cannot_be_followed_is_a_file_error_at_its_real_line(
    tmp_path: Path, text: str, delimiter: str | None, message: str
) -> None:
    with pytest.raises(CsvFileError, match=message):
        read(csv_file(tmp_path, text), delimiter=delimiter)


async def test_an_import_after_a_sep_line_reports_the_files_own_lines(
    api: Api, tmp_path: Path
) -> None:
    path = csv_file(tmp_path, "sep=;\r\nLast name;Email\r\nA;a@example.com\r\nB;not an email\r\n")

    report = await run_import(api, "Contact", path)

    assert (report.created, report.rejected) == (1, 1)
    assert (report.problems[0].line, report.problems[0].column) == (4, "Email")


def test_malformed_cells_stay_a_list_of_the_cells_read() -> None:
    cells = Malformed(["AC6", 'ab"'], 1, CLOSED_EARLY)

    assert cells == ["AC6", 'ab"'] and fault(cells, ["Last name"]) == (None, CLOSED_EARLY)
