"""A row's values are checked before anything looks them up or acts on them.

Cells no record can hold (a NUL, an integer out of range) fail their row before
a match, a reference lookup or a picklist sees them; a row refused for a unique
value makes no target and grows no picklist; updates compare with the record as
the rows before them left it, in a dry run as in a real one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Api
from tests.transfer.conftest import csv_file, run_import, unique


@pytest.mark.parametrize("dry_run", [False, True])
@pytest.mark.parametrize(("header", "cell", "options"), [
    ("Owner", "ad\x00min", {}),
    ("Account", "Acc\x00Z", {"mapping": {"references": {"account": {"create": True}}}}),
    ("Email", "a\x00@example.com", {"match": ("email",)}),
    ("Lead source", "W\x00eb", {"mapping": {"extendPicklists": ["leadSource"]}}),
])
async def test_a_nul_in_any_cell_rejects_its_row_and_the_others_are_written(
    api: Api, tmp_path: Path, dry_run: bool, header: str, cell: str, options: dict[str, object]
) -> None:
    path = csv_file(tmp_path, f"Last name,{header}\nGood,\nBad,{cell}\n")

    report = await run_import(api, "Contact", path, batch_size=1, dry_run=dry_run,
                              **options)  # type: ignore[arg-type]

    assert (report.created, report.rejected) == (1, 1)
    assert (report.problems[0].line, report.problems[0].column,
            report.problems[0].reason) == (3, header, "contains a NUL character")


async def test_a_match_value_out_of_the_fields_range_is_a_row_error(
    api: Api, tmp_path: Path
) -> None:
    label = unique("Seats")
    name = (await api.query("""mutation($l: String!) { createField(module: "Contact",
        data: {label: $l, type: "integer"}) { name } }""", {"l": label}))["createField"]["name"]
    path = csv_file(tmp_path, f"Last name,{label}\nA,7\nB,2147483648\nC,{'9' * 5000}\n")

    for dry_run in (True, False):
        report = await run_import(api, "Contact", path, match=(name,), dry_run=dry_run)

        assert (report.created, report.rejected) == (1, 2)
        assert {p.reason for p in report.problems} == {"is out of the integer range"}


@pytest.mark.parametrize("dry_run", [False, True])
async def test_a_later_row_updating_the_same_record_sees_the_earlier_rows_update(
    api: Api, tmp_path: Path, dry_run: bool
) -> None:
    # Given a contact titled 000, and a file changing it to 111 and back to 000,
    # and a file naming a new contact twice
    await api.query('mutation { createContact(data: {lastName: "Same", title: "000"}) '
                    "{ id } }")
    path = csv_file(tmp_path, "Last name,Title\nSame,111\nSame,000\nFresh,1\nFresh,2\n")

    # When it is imported updating by last name (dry, or for real)
    report = await run_import(api, "Contact", path, match=("lastName",),
                              on_duplicate="update", dry_run=dry_run)

    # Then the second row changes what the first wrote, and the new one is made once
    assert (report.created, report.updated, report.unchanged, report.rejected) == (1, 3, 0, 0)
    if not dry_run:
        found = await api.query('{ contacts(filter: {lastName: {eq: "Same"}}) '
                                "{ edges { node { title } } } }")
        assert found["contacts"]["edges"][0]["node"]["title"] == "000"


async def test_a_row_refused_for_a_unique_value_makes_no_target_and_no_picklist_value(
    api: Api, tmp_path: Path
) -> None:
    label = unique("Badge")
    await api.query("""mutation($l: String!) { createField(module: "Contact", data: {
        label: $l, type: "text", unique: true}) { name } }""", {"l": label})
    await api.query("""mutation { createContact(data: {lastName: "Old"}) { id } }""")
    path = csv_file(tmp_path, f"Last name,{label},Account,Lead source\n"
                              f"A,B-1,,\nB,B-1,Brand New Co,Carrier Pigeon\n")
    mapping = {"references": {"account": {"create": True}}, "extendPicklists": ["leadSource"]}

    report = await run_import(api, "Contact", path, mapping=mapping)

    assert (report.created, report.rejected) == (1, 1)
    assert (report.targets_created, report.extended) == ({}, {})
    accounts = await api.query('{ accounts(filter: {name: {eq: "Brand New Co"}}) '
                               "{ totalCount } }")
    assert accounts["accounts"]["totalCount"] == 0


async def test_a_unique_currency_clash_rejects_only_its_rows(api: Api, tmp_path: Path) -> None:
    label = unique("Deposit")
    name = (await api.query("""mutation($l: String!) { createField(module: "Contact", data: {
        label: $l, type: "currency", unique: true}) { name } }""", {"l": label})
            )["createField"]["name"]
    await api.query(f'mutation {{ createContact(data: {{lastName: "L1", '
                    f'{name}: {{amount: "100", currency: "USD"}}}}) {{ id }} }}')
    path = csv_file(tmp_path, f"Last name,{label}\nL2,100 USD\nL3,200 USD\nL4,200 USD\n"
                              "L5,100 EUR\n")

    report = await run_import(api, "Contact", path)

    assert (report.created, report.rejected) == (2, 2)
    reasons = {p.line: p.reason for p in report.problems}
    assert reasons[2].startswith(f"another Contact already has {label} 100 USD")
    assert reasons[4].startswith(f"line 3 of this file has the same {label} 200 USD")


async def test_reference_cells_differing_in_case_match_as_one_key(
    api: Api, tmp_path: Path
) -> None:
    await api.query('mutation { createAccount(data: {name: "Alder Hotels"}) { id } }')
    path = csv_file(tmp_path, "Last name,Account\nZed,Alder Hotels\nZed,ALDER HOTELS\n")

    first = await run_import(api, "Contact", path, match=("lastName", "account"))
    second = await run_import(api, "Contact", path, match=("lastName", "account"))

    assert (first.created, first.skipped) == (1, 1)
    assert (second.created, second.skipped, second.rejected) == (0, 2, 0)


async def test_a_label_with_spaces_at_its_ends_names_its_record_through_a_round_trip(
    api: Api, tmp_path: Path
) -> None:
    from tests.transfer.test_exporting import export

    made = await api.query('mutation { createAccount(data: {name: " Spacey Co "}) { id } }')
    await api.query(f'mutation {{ createContact(data: {{lastName: "S", '
                    f'accountId: "{made["createAccount"]["id"]}"}}) {{ id }} }}')
    text = await export(api, "Contact", fields=["lastName", "account"])

    report = await run_import(api, "Contact", csv_file(tmp_path, text.replace("S,", "T,")))

    assert "T,' Spacey Co \r\n" in text.replace("S,", "T,")
    assert (report.created, report.rejected) == (1, 0), report.problems


async def test_a_whole_cell_rule_of_a_multi_picklist_is_applied_once(
    api: Api, tmp_path: Path
) -> None:
    label = unique("Greek")
    name = (await api.query("""mutation($l: String!) { createField(module: "Contact",
        data: {label: $l, type: "multipicklist", values: ["Alpha", "Beta"]}) { name } }""",
                            {"l": label}))["createField"]["name"]
    path = csv_file(tmp_path, f"Last name,{label}\nA,Alpha\nB,beta\nC,Alpha;Beta\nD,n/a\n")
    rules = {"values": {name: {"Alpha": "Beta", "Beta": "Alpha", "N/A": ""}}}

    report = await run_import(api, "Contact", path, mapping=rules)

    assert report.rejected == 0, report.problems
    found = await api.query(f"{{ contacts(orderBy: [{{lastName: AscNullsLast}}]) "
                            f"{{ edges {{ node {{ {name} }} }} }} }}")
    assert [e["node"][name] for e in found["contacts"]["edges"]] == [
        ["Beta"], ["Alpha"], ["Alpha", "Beta"], None]
