"""Files that cannot be read to the end: found by the first pass, before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from defalto_gql.transfer.csvfiles import FIELD_LIMIT, CsvFileError
from tests.conftest import Api
from tests.transfer.conftest import csv_file, run_import

COUNT = "{ contacts { totalCount } }"


async def contacts(api: Api) -> int:
    return int((await api.query(COUNT))["contacts"]["totalCount"])


def file_of(folder: Path, body: bytes) -> Path:
    path = folder / "contacts.csv"
    path.write_bytes(body)
    return path


@pytest.mark.parametrize("dry_run", [False, True])
async def test_bytes_of_another_encoding_late_in_the_file_write_nothing(
    api: Api, tmp_path: Path, dry_run: bool
) -> None:
    # Given 3,000 good rows, then a cp1252 line on physical line 3002
    path = file_of(tmp_path, b"lastName\n" + b"ok\n" * 3000 + "Müller\n".encode("cp1252"))

    # When it is imported (or dry run), the whole file fails with the true line
    with pytest.raises(CsvFileError, match=r"^line 3002 is not valid utf-8 "):
        await run_import(api, "Contact", path, dry_run=dry_run)

    # Then not one of the good rows was written
    assert await contacts(api) == 0


async def test_the_line_of_bad_bytes_counts_crlf_cr_and_quoted_line_breaks(
    api: Api, tmp_path: Path
) -> None:
    path = file_of(tmp_path, b'lastName,mailingStreet\r\nA,"1 Main St\r\nSuite 5"\rB,x\n'
                             + b"C,\xff\n")

    with pytest.raises(CsvFileError, match=r"^line 5 is not valid"):
        await run_import(api, "Contact", path)


async def test_a_cell_too_long_for_its_field_rejects_only_its_row(
    api: Api, tmp_path: Path
) -> None:
    # Given a cell above the csv module's default limit (131,072) in the third row
    path = csv_file(tmp_path, "lastName,title\nA,x\nB,x\nC," + "t" * 200_000 + "\nD,x\n")

    report = await run_import(api, "Contact", path)

    assert (report.rows, report.created, report.rejected) == (4, 3, 1)
    problem = report.problems[0]
    assert (problem.line, problem.column) == (4, "title")
    assert "is 200000 characters long" in problem.reason


@pytest.mark.parametrize("where", ["row", "header"])
async def test_a_cell_beyond_the_field_limit_is_a_file_error_with_its_line(
    api: Api, tmp_path: Path, where: str
) -> None:
    huge = "x" * (FIELD_LIMIT + 1)
    text = f"lastName\nA\nB\n{huge}\nC\n" if where == "row" else f"lastName,{huge}\nA\n"
    path = csv_file(tmp_path, text)

    with pytest.raises(CsvFileError, match=rf"^line {4 if where == 'row' else 1}: a cell is "
                                           "longer than 16,777,216 characters"):
        await run_import(api, "Contact", path)

    assert await contacts(api) == 0


@pytest.mark.parametrize(("text", "line"), [
    ('lastName,email\n"Smith,x@y.com\nJones,j@y.com\n', 2),
    ('lastName,email\nA,a@y.com\r\nB,"b@y.com\r\nJones,j@y.com', 3),
    ('lastName,mailingStreet\nA,"1 Main St\nSuite 5"\nB,"2 Side St\n', 4),
    ('"lastName,email\nSmith,x@y.com\n', 1),
])
async def test_a_quote_never_closed_is_a_file_error_naming_its_line(
    api: Api, tmp_path: Path, text: str, line: int
) -> None:
    path = csv_file(tmp_path, text)

    with pytest.raises(CsvFileError, match=rf"^line {line}: a quote opens a cell that is never "
                                           "closed"):
        await run_import(api, "Contact", path)

    assert await contacts(api) == 0


@pytest.mark.parametrize("text", ['lastName,title\nA,"x"', "lastName\rA\rB\r",
                                  'lastName,title\nA,"x\ny"\n\n\n', "lastName\nA"])
async def test_quotes_closed_at_the_very_end_and_old_line_ends_read_normally(
    api: Api, tmp_path: Path, text: str
) -> None:
    report = await run_import(api, "Contact", csv_file(tmp_path, text))

    assert report.rejected == 0 and report.created == report.rows > 0


@pytest.mark.parametrize(("text", "column"), [("last\x00Name\nSmith\n", 1),
                                              ("lastName,sh\x00oe\nSmith,42\n", 2)])
async def test_a_nul_in_a_header_cell_is_a_file_error_naming_the_column(
    api: Api, tmp_path: Path, text: str, column: int
) -> None:
    path = csv_file(tmp_path, text)

    with pytest.raises(CsvFileError, match=f"the header holds a NUL character: column {column}"):
        await run_import(api, "Contact", path)


async def test_a_nul_in_a_data_cell_rejects_only_its_row(api: Api, tmp_path: Path) -> None:
    path = csv_file(tmp_path, "lastName\nSm\x00ith\nJones\n")

    report = await run_import(api, "Contact", path)

    assert (report.created, report.rejected) == (1, 1)
    assert (report.problems[0].line, report.problems[0].reason) == (2, "contains a NUL character")


async def test_rows_of_empty_cells_are_counted_as_blank(api: Api, tmp_path: Path) -> None:
    # Given rows of empty cells between two people, and an empty line at the end
    path = csv_file(tmp_path, "Last name,Email\nA,\n,\n  ,  \nB,\n\n")

    # When it is imported (dry, then for real)
    dry = await run_import(api, "Contact", path, dry_run=True)
    real = await run_import(api, "Contact", path)

    # Then every row is accounted for: two created, two blank (the empty line is no row)
    for report in (dry, real):
        assert (report.rows, report.created, report.blank) == (4, 2, 2)
        assert report.as_dict()["blank"] == 2


@pytest.mark.parametrize(("body", "message"), [
    (b"\nLast name\nA\n", "line 1 is blank: the header naming the columns must be the first "
                          "line (it seems to be line 2"),
    (b"\r\n , \r\nLast name\r\n", "lines 1 to 2 are blank"),
    (b"\n\n  \n", "the file is empty"),
])
async def test_blank_lines_above_the_header_say_where_it_was_expected(
    api: Api, tmp_path: Path, body: bytes, message: str
) -> None:
    with pytest.raises(CsvFileError, match=message.replace("(", r"\(")):
        await run_import(api, "Contact", file_of(tmp_path, body))


@pytest.mark.parametrize("codec", ["utf-16", "utf-32", "utf-8-sig"])
async def test_a_file_whose_byte_order_mark_names_its_encoding_reads_without_declaring_it(
    api: Api, tmp_path: Path, codec: str
) -> None:
    path = file_of(tmp_path, "Last name;First name\nMüller;Zoë\n".encode(codec))

    report = await run_import(api, "Contact", path)

    assert (report.created, report.rejected) == (1, 0), report.problems
    found = await api.query("{ contacts { edges { node { lastName firstName } } } }")
    assert found["contacts"]["edges"][0]["node"] == {"lastName": "Müller", "firstName": "Zoë"}
