"""Picklists an import lets grow: only by the rows it writes, and never past a usable value."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.conftest import Api
from tests.transfer.conftest import csv_file, run_import

GROW = {"extendPicklists": ["type"]}


async def account_types(api: Api) -> list[str]:
    found = await api.query('{ module(name: "Account") { fields { name picklistValues } } }')
    values: list[str] = next(f["picklistValues"] for f in found["module"]["fields"]
                             if f["name"] == "type")
    return values


async def test_a_row_rejected_for_another_reason_adds_no_picklist_value(
    api: Api, tmp_path: Path
) -> None:
    # Given a valid row and a row without its required name, each with a new type
    path = csv_file(tmp_path, "Account name,Type,Employees\nA,Cooperative,\n,Guild,\n"
                              "C,Syndicate,many\n")

    # When it is imported dry, then for real, letting the type picklist grow
    dry = await run_import(api, "Account", path, mapping=GROW, dry_run=True)
    real = await run_import(api, "Account", path, mapping=GROW)

    # Then only the written row's value is added, and the dry run said so
    assert dry.extended == real.extended == {"type": ["Cooperative"]}
    assert (real.created, real.rejected) == (dry.created, dry.rejected) == (1, 2)
    types = await account_types(api)
    assert "Cooperative" in types and "Guild" not in types and "Syndicate" not in types


async def test_a_skipped_duplicate_adds_no_picklist_value(api: Api, tmp_path: Path) -> None:
    await run_import(api, "Account", csv_file(tmp_path, "Account name\nA\n"))
    path = csv_file(tmp_path, "Account name,Type\nA,Guild\n")

    report = await run_import(api, "Account", path, mapping=GROW, match=("name",))

    assert (report.skipped, report.extended) == (1, {})
    assert "Guild" not in await account_types(api)


async def test_a_value_too_long_for_a_picklist_is_a_row_error_on_its_column(
    api: Api, tmp_path: Path
) -> None:
    long = "x" * 256
    path = csv_file(tmp_path, f"Account name,Type\nA,{long}\nB,Consortium\n")

    dry = await run_import(api, "Account", path, mapping=GROW, dry_run=True)
    real = await run_import(api, "Account", path, mapping=GROW)

    for report in (dry, real):
        assert (report.created, report.rejected) == (1, 1)
        assert report.extended == {"type": ["Consortium"]}
        (problem,) = report.problems
        assert (problem.line, problem.column) == (2, "Type")
        assert "more than 255 characters" in problem.reason


@pytest.mark.parametrize("dry_run", [False, True])
async def test_values_differing_only_in_case_add_one_value_spelled_as_first_met(
    api: Api, tmp_path: Path, dry_run: bool
) -> None:
    # Given one new type written three ways, across batches
    tag = uuid.uuid4().hex[:6]
    path = csv_file(tmp_path, f"Account name,Type\nA,Zeta{tag}\nB,zeta{tag}\nC,ZETA{tag}\n")

    # When it is imported letting the type picklist grow
    report = await run_import(api, "Account", path, mapping=GROW, batch_size=2,
                              dry_run=dry_run)

    # Then one value is added, and every row holds it
    assert report.extended == {"type": [f"Zeta{tag}"]}
    assert (report.created, report.rejected) == (3, 0), report.problems
    if not dry_run:
        assert [t for t in await account_types(api) if t.lower() == f"zeta{tag}"] == \
            [f"Zeta{tag}"]
        found = await api.query("{ accounts { edges { node { type } } } }")
        assert {e["node"]["type"] for e in found["accounts"]["edges"]} == {f"Zeta{tag}"}


async def test_a_multi_picklist_cell_naming_a_new_value_twice_adds_and_keeps_it_once(
    api: Api, tmp_path: Path
) -> None:
    label = f"Tags {uuid.uuid4().hex[:6]}"
    name = (await api.query("""mutation($label: String!) { createField(module: "Contact",
        data: {label: $label, type: "multipicklist", values: ["Old"]}) { name } }""",
                            {"label": label}))["createField"]["name"]
    path = csv_file(tmp_path, f"Last name,{label}\nA,New A;new a;old\n")

    report = await run_import(api, "Contact", path, mapping={"extendPicklists": [name]})

    assert report.extended == {name: ["New A"]}, report.problems
    found = await api.query(f"{{ contacts {{ edges {{ node {{ {name} }} }} }} }}")
    assert sorted(found["contacts"]["edges"][0]["node"][name]) == ["New A", "Old"]
