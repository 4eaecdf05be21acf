"""Exporting CSV: formula-safe cells, hidden fields, rights, and export -> import round trips."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from defalto_gql.access.policy import AccessPolicy, ModuleRights
from defalto_gql.errors import Forbidden
from defalto_gql.records.context import RecordContext
from defalto_gql.transfer.csvfiles import FORMULA_START, cell_value, protect, unprotect
from defalto_gql.transfer.exporting import cell, export_text
from defalto_gql.transfer.references import SYSTEM_USER_ID
from tests.conftest import ADMIN_EMAIL, Api
from tests.metadata.test_fieldtypes import field
from tests.transfer.conftest import csv_file, run_import, unique

CREATE_FIELD = """mutation($data: FieldInput!) {
  createField(module: "Contact", data: $data) { name } }"""


def context(api: Api, policy: AccessPolicy | None = None) -> RecordContext:
    runtime = api.runtime
    return runtime.context(runtime.generation(), policy=policy).records


async def export(api: Api, module: str, policy: AccessPolicy | None = None, **options: object
                 ) -> str:
    out = io.StringIO(newline="")
    await export_text(context(api, policy), module, out, **options)  # type: ignore[arg-type]
    return out.getvalue()


@pytest.mark.parametrize("value", ["=SUM(A1:A9)", "+1-532-344-1362", "-5", "@here", "'=x",
                                   "''+y", "'plain", "plain", "a=b", "", "\n=1+1", "'\n=1+1",
                                   "\r=1", "\t=1", "\nplain", "'\nplain", "a\n=1", "\t", "\r",
                                   " x", "x ", "\xa0x", "a\n", " =x", "'x ", "' x", " ", "'"])
def test_protect_and_unprotect_give_every_value_back(value: str) -> None:
    shown = protect(value)

    assert unprotect(shown) == value
    assert cell_value(shown) == value
    assert not shown or shown[0] not in FORMULA_START
    # white space at the ends is kept by the apostrophe in front
    assert not shown or not shown[0].isspace()
    assert not shown or not value[-1:].isspace() or shown[0] == "'"


def test_spaces_around_a_cell_nobody_protected_are_layout() -> None:
    assert [cell_value(c) for c in (" waller", "x  ", " '=1 ", "'plain ")] == \
        ["waller", "x", "=1", "plain "]


def test_a_line_feed_before_a_formula_is_protected() -> None:
    assert protect("\n=1+1") == "'\n=1+1"
    assert unprotect("'\n=1+1") == "\n=1+1"


async def test_export_then_import_reproduces_the_records_exactly(
    api: Api, tmp_path: Path
) -> None:
    # Given contacts with formula-like text, a phone, quotes, line breaks and a multi-picklist
    # whose values hold commas and semicolons
    tags = (await api.query(CREATE_FIELD, {"data": {
        "label": unique("Tags"), "type": "multipicklist",
        "values": ["Glass, Ceramics", "a;b", 'say "hi"', "Plain"]}}))["createField"]["name"]
    await api.query(f"""mutation {{ createContacts(data: [
        {{lastName: "=HYPERLINK(\\"http://x\\")", phone: "+1-532-344-1362",
          title: "'quoted", {tags}: ["Glass, Ceramics", "a;b", "say \\"hi\\""],
          birthday: "1990-12-31", doNotCall: true}},
        {{lastName: "Line\\nbreak, comma", email: "x@example.com", {tags}: []}},
        {{lastName: "@mention", mailingStreet: "-1 Road"}}]) {{ id }} }}""")
    fields = ["lastName", "phone", "title", tags, "birthday", "doNotCall", "email",
              "mailingStreet"]
    before = await export(api, "Contact", fields=fields)

    # When the export is imported into an empty module and exported again
    async with api.engine.begin() as conn:
        table = api.runtime.generation().model.tables.of("Contact")
        await conn.execute(sa.text(f"TRUNCATE {table.name} CASCADE"))
    report = await run_import(api, "Contact", csv_file(tmp_path, before))
    after = await export(api, "Contact", fields=fields)

    # Then nothing was rejected and both exports hold the same rows
    assert (report.created, report.rejected) == (3, 0), report.problems
    assert sorted(before.splitlines()) == sorted(after.splitlines())
    assert "'=HYPERLINK" in before and "'+1-532-344-1362" in before
    found = await api.query(f'{{ contacts(filter: {{phone: {{eq: "+1-532-344-1362"}}}}) '
                            f"{{ edges {{ node {{ lastName title {tags} }} }} }} }}")
    node = found["contacts"]["edges"][0]["node"]
    assert node == {"lastName": '=HYPERLINK("http://x")', "title": "'quoted",
                    tags: ["Glass, Ceramics", "a;b", 'say "hi"']}


async def test_references_export_as_names_and_a_bom_is_optional(api: Api) -> None:
    await api.query('mutation { createAccount(data: {name: "Acme"}) { id } }')
    account = (await api.query("{ accounts { edges { node { id } } } }"))["accounts"]
    ident = account["edges"][0]["node"]["id"]
    await api.query(f'mutation {{ createContact(data: {{lastName: "A", accountId: "{ident}"}}) '
                    "{ id } }")

    text = await export(api, "Contact", fields=["lastName", "account"], bom=True)

    assert text == "\ufeffLast name,Account\r\nA,Acme\r\n"


async def test_export_filters_rows_leaves_hidden_fields_out_and_needs_the_right(
    api: Api
) -> None:
    await api.query('mutation { createContacts(data: [{lastName: "A", title: "CEO"}, '
                    '{lastName: "B", title: "CTO"}]) { id } }')
    allowed = AccessPolicy(user_id="00000000-0000-0000-0000-000000000001", is_admin=False,
                           modules={"Contact": ModuleRights(frozenset({"view", "export"}),
                                                            None, None,
                                                            hidden=frozenset({"title"}))})
    denied = AccessPolicy(user_id=allowed.user_id, is_admin=False,
                          modules={"Contact": ModuleRights(frozenset({"view"}), None, None)})

    text = await export(api, "Contact", allowed, where={"lastName": {"eq": "B"}})

    header, *rows = text.splitlines()
    assert "Title" not in header.split(",") and len(rows) == 1
    with pytest.raises(Forbidden, match="title is hidden"):
        await export(api, "Contact", allowed, fields=["title"])
    with pytest.raises(Forbidden, match="may not export"):
        await export(api, "Contact", denied)


async def test_a_label_that_looks_like_a_formula_is_protected_and_maps_back(
    api: Api, tmp_path: Path
) -> None:
    # Given a field whose label a spreadsheet would run, and a contact with a value in it
    label = "@SUM(1)"
    name = (await api.query(CREATE_FIELD, {"data": {"name": "formulaLabel", "label": label,
                                                    "type": "text"}}))["createField"]["name"]
    await api.query(f'mutation {{ createContact(data: {{lastName: "A", {name}: "\\n=1+1"}}) '
                    "{ id } }")

    # When it is exported and imported again
    text = await export(api, "Contact", fields=["lastName", name])
    report = await run_import(api, "Contact", csv_file(tmp_path, text), dry_run=True)

    # Then header and value are protected, and the header maps to the field again
    assert text == f"Last name,'{label}\r\nA,\"'\n=1+1\"\r\n"
    assert report.mapped_columns == {"Last name": "lastName", label: name}
    assert report.created == 1


async def test_a_multi_picklist_value_with_a_line_break_survives_its_export(
    api: Api, tmp_path: Path
) -> None:
    # Given a contact with multi-picklist values holding a line feed and a CRLF
    tags = (await api.query(CREATE_FIELD, {"data": {
        "label": unique("Tags"), "type": "multipicklist",
        "values": ["multi\nline", "two\r\nends", "Plain"]}}))["createField"]["name"]
    await api.query(f'mutation {{ createContact(data: {{lastName: "A", '
                    f'{tags}: ["multi\\nline", "two\\r\\nends", "Plain"]}}) {{ id }} }}')

    # When it is exported and imported back over itself, matched on the last name
    text = await export(api, "Contact", fields=["lastName", tags])
    report = await run_import(api, "Contact", csv_file(tmp_path, text), match=("lastName",),
                              on_duplicate="update")

    # Then the values were quoted inside the cell and read back exactly
    assert '""multi\nline""' in text
    assert (report.updated, report.rejected) == (1, 0), report.problems
    found = await api.query(f"{{ contacts {{ edges {{ node {{ {tags} }} }} }} }}")
    assert found["contacts"]["edges"][0]["node"][tags] == ["multi\nline", "two\r\nends",
                                                           "Plain"]


async def test_a_record_the_system_user_owns_exports_an_empty_owner_that_imports_back(
    api: Api, tmp_path: Path
) -> None:
    # Given a contact owned by the system user, as the demo data's are
    await api.query('mutation { createContact(data: {lastName: "Demo"}) { id } }')
    table = api.runtime.generation().model.tables.of("Contact")
    async with api.engine.begin() as conn:
        await conn.execute(table.update().values(owner_id=SYSTEM_USER_ID))

    # When it is exported and imported back, updating it, then into an empty module
    text = await export(api, "Contact", fields=["lastName", "ownerId"])
    updated = await run_import(api, "Contact", csv_file(tmp_path, text), match=("lastName",),
                               on_duplicate="update")
    async with api.engine.begin() as conn:
        kept = (await conn.execute(sa.select(table.c.owner_id))).scalar_one()
        await conn.execute(table.delete())
        admin = (await conn.exec_driver_sql(
            "SELECT id::text FROM dg_users WHERE email = $1", (ADMIN_EMAIL,))).scalar_one()
    created = await run_import(api, "Contact", csv_file(tmp_path, text),
                               policy=AccessPolicy.system(admin))

    # Then the owner cell is empty, the update kept the owner, the create gave the importer
    assert text == "Last name,Owner\r\nDemo,\r\n"
    assert (updated.updated, updated.rejected, kept) == (1, 0, SYSTEM_USER_ID)
    assert (created.created, created.rejected) == (1, 0)
    async with api.engine.connect() as conn:
        owner = (await conn.execute(sa.select(table.c.owner_id))).scalar_one()
    assert owner == admin


async def test_records_of_a_deactivated_owner_import_back_from_their_export(
    api: Api, tmp_path: Path
) -> None:
    # Given a contact owned by a user who has since been deactivated
    email = f"{unique('gone').replace(' ', '.')}@example.com"
    user = await api.query('mutation($d: UserInput!) { createUser(data: $d) { id } }',
                           {"d": {"email": email, "name": "Gone",
                                  "password": "gone-password-1"}})
    owner = user["createUser"]["id"]
    await api.query("mutation($o: ID!) { createContact(data: {lastName: \"Kept\", "
                    "ownerId: $o}) { id } }", {"o": owner})
    await api.query('mutation($e: String!) { updateUser(email: $e, data: {active: false}) '
                    "{ id } }", {"e": email})

    # When its export, edited, is imported back updating it, and a new row names them
    text = await export(api, "Contact", fields=["recordNumber", "lastName", "title",
                                                "ownerId"])
    edited = text.replace(f"Kept,,{email}", f"Kept,Boss,{email}")
    edited += f",New,,{email}\r\n"
    report = await run_import(api, "Contact", csv_file(tmp_path, edited),
                              match=("recordNumber",), on_duplicate="update")

    # Then the update goes through, the owner stays, and nothing new is given to them
    assert (report.updated, report.created, report.rejected) == (1, 0, 1), report.problems
    assert report.problems[0].line == 3 and "is a deactivated user" in report.problems[0].reason
    found = await api.query("{ contacts { edges { node { title ownerId } } } }")
    assert [e["node"] for e in found["contacts"]["edges"]] == [{"title": "Boss",
                                                               "ownerId": owner}]


async def test_white_space_at_the_ends_of_values_survives_export_and_import(
    api: Api, tmp_path: Path
) -> None:
    # Given values starting or ending with spaces, a tab, a no-break space or a line break
    values = [{"lastName": " Ann ", "title": "\t", "firstName": "\xa0Bo"},
              {"lastName": "Cy", "title": " =x", "mailingStreet": "two lines\n\n"},
              {"lastName": "Di\r", "title": "'kept ", "mailingStreet": "\r"}]
    await api.query("mutation($d: [ContactCreateInput!]!) { createContacts(data: $d) { id } }",
                    {"d": values})
    fields = ["lastName", "firstName", "title", "mailingStreet"]
    text = await export(api, "Contact", fields=fields)

    # When the export is imported into an empty module
    async with api.engine.begin() as conn:
        table = api.runtime.generation().model.tables.of("Contact")
        await conn.execute(sa.text(f"TRUNCATE {table.name} CASCADE"))
    report = await run_import(api, "Contact", csv_file(tmp_path, text))

    # Then every value is back exactly
    assert (report.created, report.rejected) == (3, 0), report.problems
    found = await api.query("{ contacts { edges { node { lastName firstName title "
                            "mailingStreet } } } }")
    nodes = [e["node"] for e in found["contacts"]["edges"]]
    expected = [{name: value.get(name) for name in fields} for value in values]
    assert sorted(nodes, key=repr) == sorted(expected, key=repr)


@pytest.mark.parametrize(("type_key", "value", "shown"), [
    ("integer", -5, "-5"), ("decimal", Decimal("-0.5"), "-0.5"),
    ("currency", {"amount": Decimal("-3.00"), "currency": "USD"}, "'-3.00 USD"),
    ("text", "-5", "'-5")])
def test_negative_numbers_export_as_numbers_and_text_stays_protected(
    type_key: str, value: object, shown: str
) -> None:
    f = field(type_key)

    assert cell(f, value, {}) == shown
    assert f.type.parse_text(f, cell_value(shown)) == value
