"""Reading CSV files as people send them: Excel's ``sep=`` line.

Excel's first line ``sep=;`` names the delimiter; line numbers stay the file's own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from defalto_gql.transfer.csvfiles import CsvFileError, open_table
from tests.conftest import Api
from tests.transfer.conftest import csv_file, run_import


def read(path: Path, delimiter: str | None = None
         ) -> tuple[list[str], str, list[tuple[int, list[str]]]]:
    """The header, the delimiter, and each row's line and cells (the file checked)."""
    with open_table(path, delimiter=delimiter) as table:
        table.check()
        rows = [(line, list(cells)) for line, cells in table.rows()]
        return table.header, table.delimiter, rows


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_an_excel_sep_line_names_the_delimiter_and_lines_keep_their_numbers(
    tmp_path: Path, end: str
) -> None:
    text = end.join(["sep=;", "Last name;Company", 'A;"b;c"', "B;x", ""])

    header, delimiter, rows = read(csv_file(tmp_path, text))
    same, _, _ = read(csv_file(tmp_path, text), delimiter=";")

    assert (header, delimiter, same) == (["Last name", "Company"], ";", header)
    assert rows == [(3, ["A", "b;c"]), (4, ["B", "x"])]


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
