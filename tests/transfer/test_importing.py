"""Importing CSV files: mapping, references, required values, dry runs, duplicates, rights."""

from __future__ import annotations

import csv
import io
import re
import uuid
from pathlib import Path

import pytest

from defalto_gql.access.policy import AccessPolicy, ModuleRights
from defalto_gql.errors import Forbidden
from defalto_gql.transfer.mapping import Mapping, MappingError
from defalto_gql.transfer.references import SYSTEM_USER_ID
from tests.conftest import ADMIN_EMAIL, Api
from tests.transfer.conftest import csv_file, run_import, unique
from tests.transfer.test_exporting import export

CONTACTS = "{ contacts(first: 100) { totalCount edges { node { firstName lastName email " \
           "account { name } } } } }"


async def names(api: Api) -> list[tuple[str, str | None]]:
    found = await api.query(CONTACTS)
    return sorted((e["node"]["lastName"], e["node"]["email"])
                  for e in found["contacts"]["edges"])


async def test_columns_map_by_label_or_name_ignoring_case_spaces_and_punctuation(
    api: Api, tmp_path: Path
) -> None:
    # Given a file with a BOM, semicolons and headers written every which way
    path = csv_file(tmp_path, "\ufeff First Name ;LAST_NAME;e-mail;Shoe size\r\n"
                              "Ada;Lovelace;ada@example.com;38\r\n")

    # When it is imported
    report = await run_import(api, "Contact", path)

    # Then the first three columns fill fields and the fourth is reported as ignored
    assert report.mapped_columns == {"First Name": "firstName", "LAST_NAME": "lastName",
                                     "e-mail": "email"}
    assert report.ignored_columns == ["Shoe size"]
    assert (report.rows, report.created, report.rejected) == (1, 1, 0)
    assert await names(api) == [("Lovelace", "ada@example.com")]


async def test_references_resolve_by_name_or_record_number_and_misses_are_row_errors(
    api: Api, tmp_path: Path
) -> None:
    # Given an account, known by its name and by its record number
    made = await api.query('mutation { createAccount(data: {name: "Acme"}) { recordNumber } }')
    number = made["createAccount"]["recordNumber"]
    path = csv_file(tmp_path, f"last name,account\nOne,Acme\nTwo,{number}\nThree,Nowhere Inc\n")
    rejects = tmp_path / "rejects.csv"

    # When contacts naming it are imported
    report = await run_import(api, "Contact", path, rejects=rejects)

    # Then two find it and the third is rejected with its line, column and reason
    assert (report.created, report.rejected) == (2, 1)
    problem = report.problems[0]
    assert (problem.line, problem.column) == (4, "account")
    assert "Nowhere Inc" in problem.reason
    found = await api.query(CONTACTS)
    assert {e["node"]["account"]["name"] for e in found["contacts"]["edges"]} == {"Acme"}
    rows = list(csv.reader(io.StringIO(rejects.read_text(encoding="utf-8"), newline="")))
    assert rows[0] == ["last name", "account", "line", "reason"]
    assert rows[1][:3] == ["Three", "Nowhere Inc", "4"]
    assert rows[1][3].startswith("account: no Account")


async def test_a_missing_required_value_rejects_the_row(api: Api, tmp_path: Path) -> None:
    path = csv_file(tmp_path, "First name,Last name\nAda,\nGrace,Hopper\n")

    report = await run_import(api, "Contact", path)

    assert (report.created, report.rejected) == (1, 1)
    assert str(report.problems[0]) == "line 2: Last name: is required"


async def test_an_empty_cell_of_a_required_field_with_a_default_rejects_the_row(
    api: Api, tmp_path: Path
) -> None:
    # Given a required field with a default
    label = unique("Tier")
    await api.query("""mutation($label: String!) { createField(module: "Contact", data: {
        label: $label, type: "text", required: true, default: "standard"}) { name } }""",
                    {"label": label})

    # When a file with that column leaves it empty, and a file without the column comes
    empty = await run_import(api, "Contact", csv_file(tmp_path, f"Last name,{label}\nA,\n"))
    absent = await run_import(api, "Contact", csv_file(tmp_path, "Last name\nB\n"))

    # Then the empty cell is a missing value; without the column the default applies
    assert (empty.created, empty.rejected) == (0, 1)
    assert str(empty.problems[0]) == f"line 2: {label}: is required"
    assert (absent.created, absent.rejected) == (1, 0)


@pytest.mark.parametrize("dry_run", [False, True])
async def test_a_mapping_value_rule_giving_empty_text_does_not_fill_a_required_field(
    api: Api, tmp_path: Path, dry_run: bool
) -> None:
    path = csv_file(tmp_path, "Surname\na\nb\n")
    mapping = {"columns": {"Surname": "lastName"}, "values": {"lastName": {"a": "", "b": " "}}}

    report = await run_import(api, "Contact", path, mapping=mapping, dry_run=dry_run)

    assert (report.created, report.rejected) == (0, 2)
    assert [str(p) for p in report.problems] == ["line 2: Surname: is required",
                                                 "line 3: Surname: is required"]
    assert await names(api) == []


async def test_a_dry_run_reports_everything_and_writes_nothing(api: Api, tmp_path: Path) -> None:
    path = csv_file(tmp_path, "Last name,Email\nA,a@example.com\nB,not-an-email\n")

    report = await run_import(api, "Contact", path, dry_run=True)

    assert (report.rows, report.created, report.rejected) == (2, 1, 1)
    assert report.problems[0].column == "Email"
    assert await names(api) == []


@pytest.mark.parametrize("mode", ["skip", "update"])
async def test_importing_twice_with_a_match_rule_keeps_the_same_records(
    api: Api, tmp_path: Path, mode: str
) -> None:
    # Given a file imported once, and a second version with one title changed and one new row
    first = csv_file(tmp_path, "Last name,Email,Title\nA,a@example.com,CEO\nB,b@example.com,\n")
    second = csv_file(tmp_path, "Last name,Email,Title\nA,a@example.com,CFO\n"
                                "B,b@example.com,\nC,c@example.com,\n")
    await run_import(api, "Contact", first, match=("email",))

    # When the second is imported matching on email
    report = await run_import(api, "Contact", second, match=("email",), on_duplicate=mode)

    # Then only the new row is created; the others are skipped or updated
    assert report.created == 1
    assert (report.skipped, report.updated) == ((2, 0) if mode == "skip" else (0, 2))
    found = await api.query('{ contacts(filter: {email: {eq: "a@example.com"}}) '
                            "{ totalCount edges { node { title } } } }")
    assert found["contacts"]["totalCount"] == 1
    title = found["contacts"]["edges"][0]["node"]["title"]
    assert title == ("CEO" if mode == "skip" else "CFO")
    assert len(await names(api)) == 3


async def test_a_key_repeated_inside_one_file_is_a_duplicate_too(
    api: Api, tmp_path: Path
) -> None:
    path = csv_file(tmp_path, "Last name,Email\nA,a@example.com\nA2,a@example.com\n")

    dry = await run_import(api, "Contact", path, match=("Email",), dry_run=True)
    real = await run_import(api, "Contact", path, match=("Email",))

    assert (dry.created, dry.skipped) == (real.created, real.skipped) == (1, 1)
    assert await names(api) == [("A", "a@example.com")]


async def test_a_declared_windows_1252_file_reads_and_a_wrong_encoding_is_explained(
    api: Api, tmp_path: Path
) -> None:
    path = csv_file(tmp_path, "Last name;First name\nMüller;Zoë\n", encoding="cp1252")

    with pytest.raises(ValueError, match="give the encoding cp1252"):
        await run_import(api, "Contact", path)
    report = await run_import(api, "Contact", path, encoding="cp1252")

    assert report.created == 1
    found = await api.query("{ contacts { edges { node { firstName lastName } } } }")
    assert found["contacts"]["edges"][0]["node"] == {"firstName": "Zoë", "lastName": "Müller"}


async def test_quoted_cells_hold_delimiters_and_line_breaks_and_lines_stay_right(
    api: Api, tmp_path: Path
) -> None:
    path = csv_file(tmp_path, 'Last name\tMailing street\tEmail\r\n'
                              '"Doe, Jane"\t"1 Main St\r\nSuite 5"\tjane@example.com\r\n'
                              'Roe\t"2 ""Side"" St"\tbad\r\n')

    report = await run_import(api, "Contact", path)

    assert report.created == 1
    assert report.problems[0].line == 4
    found = await api.query("{ contacts { edges { node { lastName mailingStreet } } } }")
    assert found["contacts"]["edges"][0]["node"] == {"lastName": "Doe, Jane",
                                                     "mailingStreet": "1 Main St\r\nSuite 5"}


async def test_dates_numbers_and_their_errors(api: Api, tmp_path: Path) -> None:
    # Given dates day first, a dotted date, an impossible date and numbers with separators
    path = csv_file(tmp_path, "Account name,Employees,Annual revenue\n"
                              'A," 1,200",1200.50 USD\n'
                              "B,1.234,5\n"
                              'C,12,"1,234.5 EUR"\n')
    contacts = csv_file(tmp_path, "Last name,Birthday\nX,31/12/1990\nY,31.12.1991\nZ,30/02/1990\n")

    accounts = await run_import(api, "Account", path)
    people = await run_import(api, "Contact", contacts, day_first=True)

    assert (accounts.created, accounts.rejected) == (2, 1)
    assert accounts.problems[0].column == "Employees"
    assert (people.created, people.rejected) == (2, 1)
    assert "'30/02/1990' is not a date" in people.problems[0].reason
    found = await api.query("{ accounts(orderBy: [{name: AscNullsLast}]) { edges { node { "
                            "employees annualRevenue { amount currency } } } } }")
    assert [e["node"] for e in found["accounts"]["edges"]] == [
        {"employees": 1200, "annualRevenue": {"amount": "1200.50", "currency": "USD"}},
        {"employees": 12, "annualRevenue": {"amount": "1234.50", "currency": "EUR"}},
    ]
    found = await api.query("{ contacts(orderBy: [{lastName: AscNullsLast}]) "
                            "{ edges { node { birthday } } } }")
    assert [e["node"]["birthday"] for e in found["contacts"]["edges"]] == [
        "1990-12-31", "1991-12-31"]


async def test_unknown_picklist_values_are_row_errors_unless_the_mapping_extends(
    api: Api, tmp_path: Path
) -> None:
    path = csv_file(tmp_path, "Account name,Type\nA,Customer\nB,Franchise\n")

    strict = await run_import(api, "Account", path, dry_run=True)
    planned = await run_import(api, "Account", path, dry_run=True,
                               mapping={"extendPicklists": ["type"]})
    mapped = await run_import(api, "Account", path, dry_run=True,
                              mapping={"values": {"type": {"Franchise": "Partner"}}})

    assert (strict.created, strict.rejected) == (1, 1)
    assert "'Franchise' is not one of the values" in strict.problems[0].reason
    assert (planned.created, planned.extended) == (2, {"type": ["Franchise"]})
    assert mapped.created == 2
    # The dry run did not touch the picklist
    values = await api.query('{ module(name: "Account") { fields { name picklistValues } } }')
    kinds = next(f for f in values["module"]["fields"] if f["name"] == "type")
    assert "Franchise" not in kinds["picklistValues"]


async def test_an_unknown_column_in_the_mapping_stops_the_import(api: Api, tmp_path: Path
                                                                 ) -> None:
    path = csv_file(tmp_path, "Last name\nA\n")

    with pytest.raises(MappingError, match="does not have"):
        await run_import(api, "Contact", path, mapping={"columns": {"Surname": "lastName"}})


@pytest.mark.parametrize(("values", "message"), [
    ({"doNotCall": {"yes": [1]}}, 'values.doNotCall must map cell texts to texts: "yes" maps '
                                  "to [1]"),
    ({"doNotCall": {"yes": None}}, '"yes" maps to null'),
    ({"doNotCall": ["yes"]}, 'values.doNotCall must map cell texts to texts, not ["yes"]'),
    (["doNotCall"], "values must map field names to objects"),
])
def test_a_values_rule_that_is_not_text_to_text_is_refused(values: object, message: str
                                                           ) -> None:
    with pytest.raises(MappingError, match=re.escape(message)):
        Mapping.from_dict({"values": values})


def rights(**modules: ModuleRights) -> AccessPolicy:
    return AccessPolicy(user_id="00000000-0000-0000-0000-000000000001", is_admin=False,
                        modules=dict(modules))


async def test_import_needs_the_import_right_and_may_not_fill_hidden_fields(
    api: Api, tmp_path: Path
) -> None:
    path = csv_file(tmp_path, "Last name,Title\nA,CEO\n")
    no_import = rights(Contact=ModuleRights(frozenset({"view", "create"}), None, None))
    hidden = rights(Contact=ModuleRights(frozenset({"view", "create", "import"}), None, None,
                                         hidden=frozenset({"title"})))
    allowed = rights(Contact=ModuleRights(frozenset({"view", "create", "import"}), None, None))

    with pytest.raises(Forbidden, match="may not import Contact"):
        await run_import(api, "Contact", path, policy=no_import)
    with pytest.raises(Forbidden, match="title is hidden"):
        await run_import(api, "Contact", path, policy=hidden)
    report = await run_import(api, "Contact", path, policy=allowed)

    assert report.created == 1


async def test_a_rejected_row_creates_no_reference_target(api: Api, tmp_path: Path) -> None:
    # Given a valid contact and one without a last name, each naming a new account
    path = csv_file(tmp_path, "Last name,Account\nLovelace,Analytical Engines\n,Ghost Ltd\n")
    creating = {"references": {"account": {"create": True}}}

    # When it is imported dry, then for real, creating missing accounts
    dry = await run_import(api, "Contact", path, mapping=creating, dry_run=True)
    real = await run_import(api, "Contact", path, mapping=creating)

    # Then only the written row's account is created, and the dry run said so
    assert dry.targets_created == real.targets_created == {"Account": 1}
    assert (real.created, real.rejected) == (dry.created, dry.rejected) == (1, 1)
    found = await api.query("{ accounts { edges { node { name } } } }")
    assert [e["node"]["name"] for e in found["accounts"]["edges"]] == ["Analytical Engines"]


async def test_a_dry_run_creates_a_reference_target_once_for_rows_in_several_batches(
    api: Api, tmp_path: Path
) -> None:
    path = csv_file(tmp_path, "Last name,Email,Account\nA,a@example.com,New Co\n"
                              "B,b@example.com,New Co\nA,a@example.com,New Co\n")
    options = {"mapping": {"references": {"account": {"create": True}}}, "batch_size": 1,
               "match": ("email", "account")}

    dry = await run_import(api, "Contact", path, dry_run=True, **options)
    real = await run_import(api, "Contact", path, **options)

    for report in (dry, real):
        assert report.targets_created == {"Account": 1}
        assert (report.created, report.skipped) == (2, 1)


async def test_rows_with_no_value_to_match_on_are_created_and_counted(
    api: Api, tmp_path: Path
) -> None:
    path = csv_file(tmp_path, "Last name,Email\nA,a@example.com\nB,\nC,\n")

    dry = await run_import(api, "Contact", path, match=("email",), dry_run=True)
    first = await run_import(api, "Contact", path, match=("email",))
    again = await run_import(api, "Contact", path, match=("email",))

    assert (dry.created, dry.unmatched) == (first.created, first.unmatched) == (3, 2)
    # The second run skips the matched row and creates the others again
    assert (again.created, again.skipped, again.unmatched) == (2, 1, 2)
    assert again.as_dict()["unmatched"] == 2


@pytest.mark.parametrize("dry_run", [False, True])
async def test_a_value_a_unique_field_has_already_rejects_only_its_row(
    api: Api, tmp_path: Path, dry_run: bool
) -> None:
    # Given a unique field, with one contact holding "A-1"
    label = unique("Badge")
    field = (await api.query("""mutation($label: String!) { createField(module: "Contact",
        data: {label: $label, type: "text", unique: true}) { name } }""", {"label": label})
             )["createField"]["name"]
    await api.query(f'mutation {{ createContact(data: {{lastName: "Old", {field}: "A-1"}}) '
                    "{ id } }")
    # and a file repeating it, and repeating a value of its own, in and across batches
    path = csv_file(tmp_path, f"Last name,{label}\nA,A-1\nB,B-2\nC,B-2\nD,C-3\nE,C-3\nF,\nG,\n")

    report = await run_import(api, "Contact", path, batch_size=4, dry_run=dry_run)

    # Then those rows alone are rejected, naming the column and the value
    assert (report.created, report.rejected) == (4, 3), report.problems
    reasons = {problem.line: problem.reason for problem in report.problems}
    assert set(reasons) == {2, 4, 6}
    assert all(problem.column == label for problem in report.problems)
    assert f"another Contact already has {label} 'A-1'" in reasons[2]
    assert f"line 3 of this file has the same {label} 'B-2'" in reasons[4]
    # (a real run has written line 5's batch by then, so line 6 clashes with its record)
    assert f"{label} 'C-3'; {label} is unique" in reasons[6]
    expected = ["Old"] if dry_run else ["B", "D", "F", "G", "Old"]
    assert sorted(name for name, _ in await names(api)) == expected


@pytest.mark.parametrize(("on_duplicate", "dry_run"), [
    ("update", False), ("update", True), ("merge", False), ("merge", True)])
async def test_a_duplicate_the_user_may_read_but_not_change_is_a_row_error_of_the_row(
    api: Api, tmp_path: Path, on_duplicate: str, dry_run: bool
) -> None:
    # Given a contact the importing user sees but may not change (someone else owns it)
    await api.query('mutation { createContact(data: {lastName: "Theirs", '
                    'email: "t@example.com"}) { id } }')
    actions = frozenset({"view", "create", "edit", "import"})
    policy = rights(Contact=ModuleRights(actions, None, frozenset({str(uuid.uuid4())})))
    path = csv_file(tmp_path, "Last name,Email,Title\nChanged,t@example.com,CEO\n"
                              "New,n@example.com,\n")

    # When a file matching it on email updates or merges (for real or dry)
    report = await run_import(api, "Contact", path, policy=policy, match=("email",),
                              on_duplicate=on_duplicate, dry_run=dry_run)

    # Then that row is rejected, naming no column of the file, and the other is created
    assert (report.created, report.updated, report.merged, report.rejected) == (1, 0, 0, 1)
    (problem,) = report.problems
    assert (problem.line, problem.column) == (2, None)
    assert problem.reason.startswith("the Contact this row matches (CON-")
    assert problem.reason.endswith("is one you may read but not change")


async def test_a_users_own_export_with_a_read_only_field_imports_back_leaving_it_alone(
    api: Api, tmp_path: Path
) -> None:
    # Given a user for whom Contact.title is read-only, and their export of a contact
    await api.query('mutation { createContact(data: {lastName: "Ro", email: "ro@example.com", '
                    'title: "CEO"}) { id } }')
    actions = frozenset({"view", "create", "edit", "import", "export"})
    policy = rights(Contact=ModuleRights(actions, None, None, read_only=frozenset({"title"})))
    text = await export(api, "Contact", policy, fields=["lastName", "email", "title"])
    changed = csv_file(tmp_path, text.replace("CEO", "CFO").replace("Ro,", "Ro2,"))

    # When it is imported back, updating by email
    report = await run_import(api, "Contact", changed, policy=policy, match=("email",),
                              on_duplicate="update")

    # Then the record is updated except the read-only field, which the report names
    assert (report.updated, report.rejected) == (1, 0), report.problems
    assert report.read_only_columns == ["Title"]
    assert await names(api) == [("Ro2", "ro@example.com")]
    found = await api.query("{ contacts { edges { node { title } } } }")
    assert found["contacts"]["edges"][0]["node"]["title"] == "CEO"
    # and a mapping that sends a column to that field is still refused
    with pytest.raises(Forbidden, match="title is read-only"):
        await run_import(api, "Contact", changed, policy=policy, match=("email",),
                         on_duplicate="update", mapping={"columns": {"Title": "title"}})
    # and matching on it says why it cannot, and what can be matched on instead
    with pytest.raises(MappingError, match=r"cannot match on title: it is read-only for you, "
                                           r"so its column is left out \(the record number"):
        await run_import(api, "Contact", changed, policy=policy, match=("title",),
                         on_duplicate="update")


async def test_an_update_holding_the_records_values_already_writes_nothing(
    api: Api, tmp_path: Path
) -> None:
    # Given contacts imported once, with an account and a birthday
    text = ("Last name,Email,Title,Account,Birthday\nA,a@example.com,CEO,Acme,1990-12-31\n"
            "B,b@example.com,,Acme,\n")
    create = {"references": {"account": {"create": True}}}
    await run_import(api, "Contact", csv_file(tmp_path, text), mapping=create)

    # When the same file comes again with one title changed, updating by email
    again = text.replace("CEO", "CFO")
    report = await run_import(api, "Contact", csv_file(tmp_path, again), mapping=create,
                              match=("email",), on_duplicate="update")

    # Then both rows count as updated, but only the changed one was written
    assert (report.updated, report.unchanged, report.created) == (2, 1, 0)
    assert [note.action for note in report.duplicates] == ["updated", "unchanged"]
    found = await api.query("{ contacts(orderBy: [{lastName: AscNullsLast}]) "
                            "{ edges { node { lastName title version } } } }")
    assert [(e["node"]["lastName"], e["node"]["title"], e["node"]["version"])
            for e in found["contacts"]["edges"]] == [("A", "CFO", 2), ("B", None, 1)]


async def test_values_rules_map_a_picklist_cell_to_nothing_and_each_multi_picklist_value(
    api: Api, tmp_path: Path
) -> None:
    # Given a picklist and a multi-picklist, and rules for what the file writes
    fields = {}
    for kind, values in (("picklist", ["Red", "Blue"]), ("multipicklist", ["One", "Two"])):
        label = unique(kind)
        fields[kind] = (label, (await api.query(
            """mutation($d: FieldInput!) { createField(module: "Contact", data: $d)
            { name } }""", {"d": {"label": label, "type": kind, "values": values}})
        )["createField"]["name"])
    (colour_label, colour), (count_label, count) = fields["picklist"], fields["multipicklist"]
    path = csv_file(tmp_path, f"Last name,{colour_label},{count_label}\n"
                              "A,n/a,Uno;dos\nB,rouge,Uno;n/a;Two\n")
    mapping = {"values": {colour: {"n/a": "", "rouge": "Red"},
                          count: {"Uno": "One", "Dos": "Two", "n/a": ""}}}

    # When it is imported
    report = await run_import(api, "Contact", path, mapping=mapping)

    # Then a value mapped to "" is no value, and each multi-picklist value is translated
    assert (report.created, report.rejected) == (2, 0), report.problems
    found = await api.query(f"{{ contacts(orderBy: [{{lastName: AscNullsLast}}]) "
                            f"{{ edges {{ node {{ {colour} {count} }} }} }} }}")
    assert [e["node"] for e in found["contacts"]["edges"]] == [
        {colour: None, count: ["One", "Two"]}, {colour: "Red", count: ["One", "Two"]}]


@pytest.mark.parametrize("dry_run", [False, True])
async def test_a_target_the_user_may_not_create_rejects_its_row_in_a_dry_run_too(
    api: Api, tmp_path: Path, dry_run: bool
) -> None:
    # Given a user who may import contacts but not create accounts
    policy = rights(Contact=ModuleRights(frozenset({"view", "create", "import"}), None, None),
                    Account=ModuleRights(frozenset({"view"}), None, None))
    path = csv_file(tmp_path, "Last name,Account\nX,Brand New Acct\nY,\n")

    # When a file names a new account, allowing targets to be created
    report = await run_import(api, "Contact", path, policy=policy, dry_run=dry_run,
                              mapping={"references": {"account": {"create": True}}})

    # Then the dry run and the real run both reject that row, saying why
    assert (report.created, report.rejected) == (1, 1)
    assert report.targets_created == {}
    assert report.problems[0].reason.endswith(
        "creating it was refused: you may not create Account records")


async def badge_field(api: Api) -> tuple[str, str]:
    """A new unique text field on Contact: its label and name."""
    label = unique("Badge")
    made = await api.query("""mutation($label: String!) { createField(module: "Contact",
        data: {label: $label, type: "text", unique: true}) { name } }""", {"label": label})
    return label, made["createField"]["name"]


async def admin_id(api: Api) -> str:
    async with api.engine.connect() as conn:
        found: str = (await conn.exec_driver_sql(
            "SELECT id::text FROM dg_users WHERE email = $1", (ADMIN_EMAIL,))).scalar_one()
    return found


async def own_records_only(api: Api) -> AccessPolicy:
    """A user (the administrator's account, without its rights) who changes only their own."""
    me = await admin_id(api)
    actions = frozenset({"view", "create", "edit", "import"})
    return AccessPolicy(user_id=me, is_admin=False, modules={
        "Contact": ModuleRights(actions, None, frozenset({me})),
        "Account": ModuleRights(frozenset({"view"}), None, None)})


@pytest.mark.parametrize("dry_run", [False, True])
async def test_a_dry_run_judges_updates_of_records_it_would_create_by_their_owner(
    api: Api, tmp_path: Path, dry_run: bool
) -> None:
    # Given a user who may change only their own contacts, and another user
    policy = await own_records_only(api)
    other = f"{unique('other').replace(' ', '.')}@example.com"
    await api.query('mutation($d: UserInput!) { createUser(data: $d) { id } }',
                    {"d": {"email": other, "name": "Other", "password": "other-password-1"}})
    # and a file creating two contacts (one given to the other user), then updating both
    path = csv_file(tmp_path, "Email,Last name,Title,Owner\nmine@x.test,Mine,A,\n"
                              f"theirs@x.test,Theirs,A,{other}\nmine@x.test,Mine,B,\n"
                              "theirs@x.test,Theirs,B,\n")

    report = await run_import(api, "Contact", path, policy=policy, match=("email",),
                              on_duplicate="update", dry_run=dry_run)

    # Then a dry run reports what the real run does: their contact is not the user's to change
    assert (report.created, report.updated, report.rejected) == (2, 1, 1), report.problems
    assert report.problems[0].line == 5
    assert report.problems[0].reason.endswith("is one you may read but not change")


@pytest.mark.parametrize("dry_run", [False, True])
async def test_a_row_that_cannot_be_written_leaves_its_unique_value_and_makes_no_target(
    api: Api, tmp_path: Path, dry_run: bool
) -> None:
    # Given a unique badge, a user who may not create accounts, and a contact they may
    # not change
    label, _ = await badge_field(api)
    policy = await own_records_only(api)
    await api.query('mutation { createContact(data: {lastName: "Theirs", '
                    'email: "t@x.test"}) { id } }')
    table = api.runtime.generation().model.tables.of("Contact")
    async with api.engine.begin() as conn:
        await conn.execute(table.update().values(owner_id=SYSTEM_USER_ID))
    # and rows that cannot be written, holding badges later rows hold too
    path = csv_file(tmp_path, f"Email,Last name,{label},Account\n"
                              "n1@x.test,N1,B-1,Brand New Co\nn2@x.test,N2,B-1,\n"
                              "t@x.test,Theirs,B-2,Another New Co\nn3@x.test,N3,B-2,\n")

    report = await run_import(api, "Contact", path, policy=policy, match=("email",),
                              on_duplicate="update", dry_run=dry_run,
                              mapping={"references": {"account": {"create": True}}})

    # Then the later rows keep the badges, and no account is made for a refused row
    assert (report.created, report.rejected) == (2, 2), report.problems
    assert [p.line for p in report.problems] == [2, 4]
    assert "creating it was refused: you may not create Account" in report.problems[0].reason
    assert report.targets_created == {}
    found = await api.query("{ accounts { totalCount } }")
    assert found["accounts"]["totalCount"] == 0


@pytest.mark.parametrize("dry_run", [False, True])
async def test_of_two_rows_with_one_unique_value_the_earlier_keeps_it(
    api: Api, tmp_path: Path, dry_run: bool
) -> None:
    # Given a contact with a badge, and a file updating it to a new badge, then creating
    # another contact with that badge
    label, name = await badge_field(api)
    await api.query(f'mutation {{ createContact(data: {{lastName: "W1", email: "w1@x.test", '
                    f'{name}: "K0"}}) {{ id }} }}')
    path = csv_file(tmp_path, f"Email,Last name,{label}\nw1@x.test,W1,K1\nw2@x.test,W2,K1\n")

    report = await run_import(api, "Contact", path, match=("email",), on_duplicate="update",
                              dry_run=dry_run)

    # Then the update keeps it and the later create is the row refused
    assert (report.updated, report.created, report.rejected) == (1, 0, 1), report.problems
    assert report.problems[0].line == 3
    assert f"line 2 of this file has the same {label} 'K1'" in report.problems[0].reason


@pytest.mark.parametrize("dry_run", [False, True])
async def test_rows_giving_their_own_record_its_unique_value_again_do_not_clash(
    api: Api, tmp_path: Path, dry_run: bool
) -> None:
    # Given a record created, then updated twice, by rows all giving it one badge
    label, _ = await badge_field(api)
    path = csv_file(tmp_path, f"Email,Last name,{label},Title\nq@x.test,Q,Q1,\n"
                              "q@x.test,Q,Q1,Boss\nq@x.test,Q,Q1,Chief\n")

    report = await run_import(api, "Contact", path, match=("email",), on_duplicate="update",
                              dry_run=dry_run)

    assert (report.created, report.updated, report.rejected) == (1, 2, 0), report.problems


@pytest.mark.parametrize(("dry_run", "batch_size"), [
    (False, 500), (True, 500), (False, 1), (True, 1)])
async def test_a_row_waiting_for_an_earlier_one_keeps_its_unique_value(
    api: Api, tmp_path: Path, dry_run: bool, batch_size: int
) -> None:
    # Given a contact, and a file whose first two rows are found to be it (the second
    # waits for the first), the second giving a badge a later new contact gives too
    label, name = await badge_field(api)
    await api.query(f'mutation {{ createContact(data: {{firstName: "Eve", lastName: "East", '
                    f'{name}: "K0"}}) {{ id }} }}')
    path = csv_file(tmp_path, f"First name,Last name,{label}\nEve,East,K1\nEve,East,Q1\n"
                              "Zed,Unique,Q1\n")

    report = await run_import(api, "Contact", path, detect=("firstName", "lastName"),
                              on_duplicate="update", dry_run=dry_run, batch_size=batch_size)

    # Then, whatever the batches, the earlier row keeps it and the later one is refused
    assert (report.updated, report.created, report.rejected) == (2, 0, 1), report.problems
    assert report.problems[0].line == 4
    # (in the file's words while line 3 is unwritten, else as the database has it)
    assert report.problems[0].reason.endswith(f"{label} 'Q1'; {label} is unique")
