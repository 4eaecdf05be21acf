"""Reference cells: shared labels exported with their record number, case, and creation."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from defalto_gql.access.policy import ModuleRights
from defalto_gql.metadata import admin
from defalto_gql.transfer.mapping import MappingError
from tests.conftest import Api
from tests.transfer.conftest import csv_file, run_import
from tests.transfer.test_exporting import export
from tests.transfer.test_importing import rights


async def accounts(api: Api, *names: str) -> list[dict[str, Any]]:
    data = ", ".join(f'{{name: "{name}"}}' for name in names)
    made = await api.query(f"mutation {{ createAccounts(data: [{data}]) "
                           "{ id name recordNumber } }")
    found: list[dict[str, Any]] = made["createAccounts"]
    return found


async def contacts_by_account(api: Api) -> dict[str, str | None]:
    found = await api.query("{ contacts { edges { node { lastName accountId } } } }")
    return {e["node"]["lastName"]: e["node"]["accountId"] for e in found["contacts"]["edges"]}


async def test_a_shared_label_exports_with_its_record_number_and_imports_back(
    api: Api, tmp_path: Path
) -> None:
    # Given two accounts named alike (ignoring case), one named alone, and contacts of each
    dup, other, solo = await accounts(api, "Dup Co", "dup co", "Solo")
    await api.query(f"""mutation {{ createContacts(data: [
        {{lastName: "A", accountId: "{dup['id']}"}}, {{lastName: "B", accountId: "{other['id']}"}},
        {{lastName: "C", accountId: "{solo['id']}"}}]) {{ id }} }}""")
    before = await contacts_by_account(api)

    # When the contacts are exported and imported back over themselves
    text = await export(api, "Contact", fields=["lastName", "account"])
    report = await run_import(api, "Contact", csv_file(tmp_path, text), match=("lastName",),
                              on_duplicate="update")

    # Then shared labels carry the record number, the rest stay names, and all links hold
    assert f"A,Dup Co ({dup['recordNumber']})" in text
    assert f"B,dup co ({other['recordNumber']})" in text and "C,Solo\r\n" in text
    assert (report.updated, report.rejected) == (3, 0), report.problems
    assert await contacts_by_account(api) == before


async def test_a_label_in_the_form_of_a_record_number_exports_with_its_own_number(
    api: Api, tmp_path: Path
) -> None:
    # Given an account named as another account's record number, and things linked to each
    (real,) = await accounts(api, "Real Co")
    (named,) = await accounts(api, real["recordNumber"])
    await api.query(f"""mutation {{ createContacts(data: [
        {{lastName: "A", accountId: "{real['id']}"}},
        {{lastName: "B", accountId: "{named['id']}"}}]) {{ id }} }}""")
    await api.query(f"""mutation {{ createComments(data: [{{body: "b", relatedTo: {{
        module: "Account", id: "{named['id']}"}}}}]) {{ id }} }}""")
    links, notes = await contacts_by_account(api), await comments(api)

    # When contacts and comments are exported and imported back over themselves
    people = await export(api, "Contact", fields=["lastName", "account"])
    remarks = await export(api, "Comment", fields=["body", "relatedTo"])
    first = await run_import(api, "Contact", csv_file(tmp_path, people), match=("lastName",),
                             on_duplicate="update")
    second = await run_import(api, "Comment", csv_file(tmp_path, remarks), match=("body",),
                              on_duplicate="update")

    # Then that label carries its own number after it, and every link holds
    number, own = real["recordNumber"], named["recordNumber"]
    assert "A,Real Co\r\n" in people and f"B,{number} ({own})\r\n" in people
    assert remarks.endswith(f"b,Account: {number} ({own})\r\n")
    assert (first.updated, first.rejected, second.updated, second.rejected) == (2, 0, 1, 0), \
        (first.problems, second.problems)
    assert (await contacts_by_account(api), await comments(api)) == (links, notes)


async def test_a_cited_number_naming_a_record_of_another_label_is_a_row_error(
    api: Api, tmp_path: Path
) -> None:
    # Given a cell citing an account whose number now belongs to another name
    (acme,) = await accounts(api, "Acme")
    path = csv_file(tmp_path, f"Last name,Account\r\nA,Other ({acme['recordNumber']})\r\n")

    # When it is imported, even with targets created
    report = await run_import(api, "Contact", path,
                              mapping={"references": {"account": {"create": True}}})

    # Then the row is rejected and no account named after the cell is made
    assert (report.created, report.rejected, report.targets_created) == (0, 1, {})
    assert "no Account has the name or record number" in report.problems[0].reason


async def test_labels_and_record_numbers_resolve_ignoring_case_exact_case_first(
    api: Api, tmp_path: Path
) -> None:
    # Given accounts differing only in case, and one other
    upper, lower, solo = await accounts(api, "Dup Co", "dup co", "Solo")
    number = solo["recordNumber"].lower()

    # When cells name them in exact case, in another case, and by a lower-case number
    path = csv_file(tmp_path, "Last name,Account\r\nA,Dup Co\r\nB,dup co\r\nC,DUP CO\r\n"
                              f"D,SOLO\r\nE,{number}\r\n")
    report = await run_import(api, "Contact", path)

    # Then exact case wins, a case matching none exactly is ambiguous, the rest resolve
    assert (report.created, report.rejected) == (4, 1), report.problems
    assert report.problems[0].line == 4 and "2 Account records" in report.problems[0].reason
    assert await contacts_by_account(api) == {"A": upper["id"], "B": lower["id"],
                                              "D": solo["id"], "E": solo["id"]}


async def test_creating_targets_reuses_a_name_in_another_case_and_never_a_number(
    api: Api, tmp_path: Path
) -> None:
    # Given an account, and a file naming it in another case, a new one in two cases,
    # and a record number no account has (a deleted one's)
    (dup,) = await accounts(api, "Dup Co")
    path = csv_file(tmp_path, "Last name,Account\r\nA,dup co\r\nB,New Co\r\nC,NEW CO\r\n"
                              "D,ACC-999999\r\n")

    # When it is imported with missing accounts created
    report = await run_import(api, "Contact", path,
                              mapping={"references": {"account": {"create": True}}})

    # Then one account is created, the number is a row error, the rest link
    assert (report.created, report.rejected, report.targets_created) == \
        (3, 1, {"Account": 1}), report.problems
    assert report.problems[0].line == 5
    linked = await contacts_by_account(api)
    names = await api.query("{ accounts { edges { node { id name } } } }")
    by_id = {e["node"]["id"]: e["node"]["name"] for e in names["accounts"]["edges"]}
    assert linked["A"] == dup["id"] and linked["B"] == linked["C"]
    # (named as the file first spells it)
    assert sorted(by_id.values()) == ["Dup Co", "New Co"]


async def test_picklist_cells_read_as_the_picklist_spells_them(
    api: Api, tmp_path: Path
) -> None:
    # Given cells naming an existing lead source in another case, with spaces around
    path = csv_file(tmp_path, 'Last name,Company,Lead source\r\nA,X," web  "\r\nB,Y,Newish\r\n')

    # When they are imported with the picklist allowed to grow
    report = await run_import(api, "Lead", path, mapping={"extendPicklists": ["source"]})

    # Then the existing value is used and only the really new one is added
    assert (report.created, report.rejected) == (2, 0), report.problems
    assert report.extended == {"source": ["Newish"]}
    found = await api.query("{ leads { edges { node { lastName source } } } }")
    assert {e["node"]["lastName"]: e["node"]["source"]
            for e in found["leads"]["edges"]} == {"A": "Web", "B": "Newish"}


async def comments(api: Api) -> dict[str, dict[str, str] | None]:
    found = await api.query("{ comments { edges { node { body relatedTo { id } "
                            "relatedToModule } } } }")
    return {e["node"]["body"]: e["node"]["relatedTo"] and
            {"module": e["node"]["relatedToModule"], "id": e["node"]["relatedTo"]["id"]}
            for e in found["comments"]["edges"]}


async def test_a_reference_to_several_modules_exports_its_module_and_imports_back(
    api: Api, tmp_path: Path
) -> None:
    # Given comments on two accounts sharing a name, on a lone account and on a deal
    dup, other, solo = await accounts(api, "Dup Co", "dup co", "Solo: Ltd")
    made = await api.query('mutation { createDeal(data: {name: "Big", stage: "Proposal"}) '
                           "{ id } }")
    deal = made["createDeal"]["id"]
    targets = {"a": ("Account", dup["id"]), "b": ("Account", other["id"]),
               "c": ("Account", solo["id"]), "d": ("Deal", deal)}
    data = ", ".join(f'{{body: "{body}", relatedTo: {{module: "{m}", id: "{i}"}}}}'
                     for body, (m, i) in targets.items())
    await api.query(f"mutation {{ createComments(data: [{data}]) {{ id }} }}")
    before = await comments(api)

    # When they are exported and imported back over themselves
    text = await export(api, "Comment", fields=["body", "relatedTo"])
    report = await run_import(api, "Comment", csv_file(tmp_path, text), match=("body",),
                              on_duplicate="update")

    # Then each cell names the module and the record, and every link holds
    assert f"a,Account: Dup Co ({dup['recordNumber']})" in text
    assert "c,Account: Solo: Ltd\r\n" in text and "d,Deal: Big\r\n" in text
    assert (report.updated, report.rejected) == (4, 0), report.problems
    assert await comments(api) == before


async def test_a_reference_to_several_modules_reads_a_module_label_or_a_record_number(
    api: Api, tmp_path: Path
) -> None:
    # Given an account
    (acme,) = await accounts(api, "Acme")

    # When comments name it by module label in another case, by number alone, by a
    # module that does not exist, with no module, and by a name no account has
    path = csv_file(tmp_path, "Comment,Related to\r\n"
                              f"a,account : acme\r\nb,{acme['recordNumber'].lower()}\r\n"
                              "c,Planet: Acme\r\nd,Acme\r\ne,Account: Nobody\r\n")
    report = await run_import(api, "Comment", path)

    # Then the first two link to it and the rest are row errors saying why
    assert (report.created, report.rejected) == (2, 3), report.problems
    reasons = {p.line: p.reason for p in report.problems}
    assert "names no module" in reasons[4] and "names no module" in reasons[5]
    assert reasons[6] == "no Account has the name or record number 'Nobody'"
    assert {p.column for p in report.problems} == {"Related to"}
    assert await comments(api) == {"a": {"module": "Account", "id": acme["id"]},
                                   "b": {"module": "Account", "id": acme["id"]}}


async def test_targets_of_a_reference_to_several_modules_cannot_be_created(
    api: Api, tmp_path: Path
) -> None:
    # Given a mapping asking to create missing targets of relatedTo
    path = csv_file(tmp_path, "Comment,Related to\r\na,Account: New\r\n")

    # When the file is imported, then the mapping is refused and nothing is written
    with pytest.raises(MappingError, match="several modules"):
        await run_import(api, "Comment", path,
                         mapping={"references": {"relatedTo": {"create": True}}})
    assert await comments(api) == {}


async def test_a_target_whose_label_is_hidden_is_named_by_its_record_number_only(
    api: Api, tmp_path: Path
) -> None:
    # Given a user who sees accounts but not their names, and a contact of "Secret Co"
    (secret,) = await accounts(api, "Secret Co")
    await api.query(f'mutation {{ createContact(data: {{lastName: "Known", '
                    f'accountId: "{secret["id"]}"}}) {{ id }} }}')
    everything = frozenset({"view", "create", "edit", "import", "export"})
    policy = rights(Contact=ModuleRights(everything, None, None),
                    Account=ModuleRights(frozenset({"view"}), None, None,
                                         hidden=frozenset({"name"})))

    # When that user imports contacts naming the account by name and by number, and exports
    path = csv_file(tmp_path, f"Last name,Account\nByName,Secret Co\n"
                              f"ByNumber,{secret['recordNumber'].lower()}\n")
    report = await run_import(api, "Contact", path, policy=policy)
    text = await export(api, "Contact", policy, fields=["lastName", "account"])

    # Then the name reveals nothing (no such account), the number links, and the export
    # writes the number, which imports back
    assert (report.created, report.rejected) == (1, 1)
    assert report.problems[0].line == 2
    assert "no Account has the name or record number 'Secret Co'" in report.problems[0].reason
    assert f"Known,{secret['recordNumber']}\r\n" in text
    assert "Secret Co" not in text
    assert (await contacts_by_account(api))["ByNumber"] == secret["id"]


async def test_a_record_a_group_owns_exports_the_groups_name_and_imports_back(
    api: Api, tmp_path: Path
) -> None:
    # Given a contact owned by a group
    group_name = f"Key Accounts {uuid.uuid4().hex[:6]}"
    group = (await api.query("mutation($n: String!) { createGroup(name: $n) }",
                             {"n": group_name}))["createGroup"]
    await api.query(f'mutation {{ createContact(data: {{lastName: "Grouped", '
                    f'ownerId: "{group}"}}) {{ id }} }}')

    # When the contacts are exported and imported into an empty module
    text = await export(api, "Contact", fields=["lastName", "ownerId"])
    async with api.engine.begin() as conn:
        table = api.runtime.generation().model.tables.of("Contact")
        await conn.execute(sa.text(f"TRUNCATE {table.name} CASCADE"))
    report = await run_import(api, "Contact", csv_file(tmp_path, text))

    # Then the owner cell names the group and the record is the group's again
    assert f"Grouped,{group_name}\r\n" in text
    assert (report.created, report.rejected) == (1, 0), report.problems
    found = await api.query("{ contacts { edges { node { ownerId } } } }")
    assert found["contacts"]["edges"][0]["node"]["ownerId"] == group


async def test_a_target_that_cannot_be_created_says_why_in_the_row_error(
    api: Api, tmp_path: Path
) -> None:
    # Given a module whose records need a code besides their name, and a reference to it
    number = uuid.uuid4().hex[:6]
    name = f"Widget{number}"
    async with api.engine.begin() as conn:
        await admin.create_module(conn, {"name": name, "plural": f"Widgets{number}",
                                         "label": "Widget", "labelField": "title"},
                                  shipped=False)
        for spec in ({"name": "title", "label": "Title", "type": "text"},
                     {"name": "code", "label": "Code", "type": "text", "required": True}):
            await admin.create_field(conn, name, spec, shipped=False)
        await admin.create_field(conn, "Contact", {
            "name": f"widget{number}", "label": f"Widget {number}", "type": "reference",
            "targets": [name]}, shipped=False)
    await api.runtime.refresh()
    path = csv_file(tmp_path, f"Last name,Widget {number}\nA,Sprocket\n")

    # When a file names a widget that does not exist, allowing targets to be created
    report = await run_import(api, "Contact", path,
                              mapping={"references": {f"widget{number}": {"create": True}}})

    # Then the row says there is none and why none could be made
    assert (report.created, report.rejected) == (0, 1)
    reason = report.problems[0].reason
    assert reason.startswith(f"no {name} has the name or record number 'Sprocket', and "
                             "creating it was refused: ")
    assert "code" in reason
