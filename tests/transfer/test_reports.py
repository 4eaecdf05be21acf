"""The rejects file: nothing in it runs as a formula; fixed, it imports back to the values
the first import read."""

from __future__ import annotations

import csv
from pathlib import Path

from defalto_gql.transfer.reports import RowProblem
from tests.conftest import Api
from tests.transfer.conftest import csv_file, run_import

UNSAFE = ("=", "+", "-", "@", "\t", "\r", "\n")
FORMULA_HEADER = '=HYPERLINK("http://x")'
MAPPING = {"columns": {FORMULA_HEADER: "email"}, "join": {
    "mailingStreet": {"columns": ["Street", "Number"]}}}


def read_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as given:
        return list(csv.reader(given))


async def test_the_rejects_file_protects_every_cell_and_imports_back_to_the_same_values(
    api: Api, tmp_path: Path
) -> None:
    # Given rows whose cells a spreadsheet would run, each rejected for a bad email in a
    # column whose name is a formula (so each reason starts with one)
    path = csv_file(tmp_path, f'Last name,Title,{FORMULA_HEADER},Street,Number\n'
                              "=cmd|' /C calc'!A0,-2+3,bad,@Main St,+1\n"
                              "@SUM(1),'=quoted,also bad,Side St,'-2\n"
                              '" +1",\t-x,=1+1,"\n=Road",3\n')
    rejects = tmp_path / "rejects.csv"

    report = await run_import(api, "Contact", path, mapping=MAPPING, rejects=rejects)

    # Then every cell of the rejects file, header, line and reason included, is safe
    assert (report.created, report.rejected) == (0, 3)
    rows = read_rows(rejects)
    assert rows[0] == ["Last name", "Title", f"'{FORMULA_HEADER}", "Street", "Number", "line",
                       "reason"]
    assert [row[-1][:len(FORMULA_HEADER) + 1] for row in rows[1:]] == \
        [f"'{FORMULA_HEADER}"] * 3
    assert not [cell for row in rows for cell in row if cell.startswith(UNSAFE)]

    # When the emails are fixed and the file imported again with the same mapping
    for index, row in enumerate(rows[1:]):
        row[2] = f"p{index}@example.com"
    fixed = tmp_path / "fixed.csv"
    with fixed.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows(rows)
    again = await run_import(api, "Contact", fixed, mapping=MAPPING)

    # Then the records hold the values the first import read
    assert (again.created, again.rejected) == (3, 0), again.problems
    assert again.ignored_columns == ["line", "reason"]
    found = await api.query("{ contacts { edges { node { lastName title mailingStreet } } } }")
    assert sorted(tuple(e["node"].values()) for e in found["contacts"]["edges"]) == [
        ("+1", "-x", "=Road 3"),
        ("=cmd|' /C calc'!A0", "-2+3", "@Main St +1"),
        ("@SUM(1)", "=quoted", "Side St -2"),
    ]



def test_a_reason_quoting_a_huge_cell_is_cut_short() -> None:
    problem = RowProblem(2, "Email", f"{'x' * 10**6!r} is not an email address")

    assert len(problem.reason) == 300 and problem.reason.endswith("...")
