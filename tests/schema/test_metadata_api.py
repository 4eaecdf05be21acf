"""The metadata API: describing modules and changing the data model live."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import Api


def unique(label: str) -> str:
    return f"{label} {uuid.uuid4().hex[:6]}"


CREATE_FIELD = """
mutation($module: String!, $data: FieldInput!) {
  createField(module: $module, data: $data) { name inputName type label picklistValues }
}"""


async def create_field(api: Api, module: str, **data: object) -> dict:
    found = await api.query(CREATE_FIELD, {"module": module, "data": data})
    return found["createField"]


async def field_error(api: Api, module: str, **data: object) -> dict:
    errors = await api.errors(CREATE_FIELD, {"module": module, "data": data})
    return errors[0]


async def test_modules_describe_fields_for_a_form(api: Api) -> None:
    data = await api.query("""{ module(name: "Deal") { name listField singleField recordPrefix
        blocks { name }
        fields { name type required picklistValues targets reverseName block } } }""")
    deal = data["module"]
    stage = next(f for f in deal["fields"] if f["name"] == "stage")
    account = next(f for f in deal["fields"] if f["name"] == "account")
    assert deal["listField"] == "deals" and deal["recordPrefix"] == "DEA"
    assert stage["required"] and "Closed Won" in stage["picklistValues"]
    assert account["targets"] == ["Account"] and account["reverseName"] == "deals"


async def test_custom_module_gets_the_full_api(api: Api) -> None:
    # Given a new module with numbering and a reference from a standard module to it
    label = unique("Sales order")
    created = await api.query("""mutation($label: String!) {
        createModule(data: {label: $label, recordPrefix: "SO"}) { name listField labelField } }""",
                              {"label": label})
    module = created["createModule"]
    name, listing = module["name"], module["listField"]
    await create_field(api, module["name"], label="Total", type="currency")
    await create_field(api, "Account", label=f"Main {name}", name=f"main{name}",
                       type="reference", targets=[name], reverseName="mainOf")
    # When records are created and related
    order = await api.query(f"""mutation {{ create{name}(data: {{name: "First",
        total: {{amount: "19.99", currency: "EUR"}}}}) {{ id recordNumber name }} }}""")
    order_id = order[f"create{name}"]["id"]
    await api.query(f"""mutation($id: ID) {{ createAccount(data: {{name: "Buyer",
        main{name}Id: $id}}) {{ id }} }}""", {"id": order_id})
    # Then the list, filters and both directions of the relation work
    found = await api.query(f"""{{ {listing}(filter: {{total: {{amount: {{gt: "10"}}}}}}) {{
        totalCount edges {{ node {{ recordNumber name total {{ amount currency }}
        mainOf {{ edges {{ node {{ name main{name} {{ name }} }} }} }} }} }} }} }}""")
    node = found[listing]["edges"][0]["node"]
    assert found[listing]["totalCount"] == 1
    assert node["recordNumber"].startswith("SO-")
    assert node["total"] == {"amount": "19.99", "currency": "EUR"}
    assert node["mainOf"]["edges"][0]["node"] == {"name": "Buyer", f"main{name}": {"name": "First"}}


async def test_every_field_type_can_be_added_to_a_standard_module(api: Api) -> None:
    types = (await api.query("{ fieldTypes }"))["fieldTypes"]
    tag = uuid.uuid4().hex[:6]
    for kind in types:
        extra: dict[str, object] = {}
        if kind in ("picklist", "multipicklist"):
            extra["values"] = ["50+", "0-18"]
        if kind == "reference":
            extra["targets"] = ["Contact", "Deal"]
        added = await create_field(api, "Lead", label=f"Any {kind} {tag}", type=kind, **extra)
        assert added["type"] == kind
    assert {"text", "currency", "multipicklist", "reference", "json", "owner"} <= set(types)


@pytest.mark.parametrize(
    ("first", "second", "clash"),
    [
        ("my orders", "my_orders", "myOrders"),
        ("Nick name", "nickName", "nickName"),
    ],
)
async def test_names_that_normalise_alike_are_rejected(
    api: Api, first: str, second: str, clash: str
) -> None:
    tag = uuid.uuid4().hex[:4]
    made = await create_field(api, "Contact", label=f"{first} {tag}", type="text")
    error = await field_error(api, "Contact", label=f"{second} {tag}", type="text")
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "name"
    assert made["name"] in error["message"]


@pytest.mark.parametrize("name", ["id", "owner", "accountId", "firstName", "first_name",
                                  "createdAt", "version", "deals"])
async def test_builtin_and_taken_names_are_rejected(api: Api, name: str) -> None:
    error = await field_error(api, "Contact", label="Whatever", name=name, type="text")
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "clashes" in error["message"] or "usable" in error["message"]


async def test_sql_reserved_words_get_safe_columns(api: Api) -> None:
    module = (await api.query("""mutation($l: String!) { createModule(data: {label: $l}) {
        name listField } }""", {"l": unique("Reserved")}))["createModule"]
    for word in ("order", "select", "from", "type"):
        await create_field(api, module["name"], label=word, type="text")
    name, listing = module["name"], module["listField"]
    await api.query(f"""mutation {{ create{name}(data: {{name: "r", order: "1", select: "2",
        from: "3", type: "4"}}) {{ id }} }}""")
    found = await api.query(f"""{{ {listing}(filter: {{from: {{eq: "3"}}}},
        orderBy: [{{order: AscNullsLast}}]) {{
        edges {{ node {{ order select from type }} }} }} }}""")
    assert found[listing]["edges"][0]["node"] == {"order": "1", "select": "2", "from": "3",
                                                   "type": "4"}


@pytest.mark.parametrize(("existing", "new"), [("Sales Order {t}", "Sales-Order {t}"),
                                                ("Invoice {t}", "Invoice {t}s")])
async def test_module_names_that_would_clash_are_rejected(
    api: Api, existing: str, new: str
) -> None:
    # Module names are capitalised words: a tag of letters only keeps them usable.
    tag = "".join(chr(ord("A") + int(c, 16) % 26) for c in uuid.uuid4().hex[:4])
    create = "mutation($l: String!) { createModule(data: {label: $l}) { name } }"
    await api.query(create, {"l": existing.format(t=tag)})
    errors = await api.errors(create, {"l": new.format(t=tag)})
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "clashes" in errors[0]["message"]


@pytest.mark.parametrize("label", ["Ticket", "Tickets", "Query", "Money", "Page info"])
async def test_module_names_of_existing_types_are_rejected(api: Api, label: str) -> None:
    errors = await api.errors("mutation($l: String!) { createModule(data: {label: $l}) "
                              "{ name } }", {"l": label})
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await api.query("{ metadataVersion }"))["metadataVersion"] > 0


async def test_rename_keeps_every_value(api: Api) -> None:
    field = await create_field(api, "Account", label=unique("Region"), type="text")
    await api.query(f'mutation {{ createAccount(data: {{name: "A", {field["name"]}: "North"}}) '
                    "{ id } }")
    renamed = await api.query("""mutation($n: String!, $new: String!) {
        updateField(module: "Account", name: $n, data: {name: $new, label: "Sales region"}) {
        name label } }""", {"n": field["name"], "new": field["name"] + "Renamed"})
    new = renamed["updateField"]["name"]
    found = await api.query(f"{{ accounts {{ edges {{ node {{ {new} }} }} }} }}")
    assert found["accounts"]["edges"][0]["node"][new] == "North"
    errors = await api.errors(f"{{ accounts {{ edges {{ node {{ {field['name']} }} }} }} }}")
    assert errors[0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_delete_hides_and_restore_brings_values_back(api: Api) -> None:
    field = (await create_field(api, "Account", label=unique("Segment"), type="text"))["name"]
    await api.query(f'mutation {{ createAccount(data: {{name: "A", {field}: "SMB"}}) {{ id }} }}')
    query = f"{{ accounts {{ edges {{ node {{ {field} }} }} }} }}"
    await api.query("mutation($n: String!) { deleteField(module: \"Account\", name: $n) "
                    "{ version } }", {"n": field})
    errors = await api.errors(query)
    assert errors[0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert field in errors[0]["message"]
    await api.query("mutation($n: String!) { restoreField(module: \"Account\", name: $n) "
                    "{ name } }", {"n": field})
    assert (await api.query(query))["accounts"]["edges"][0]["node"][field] == "SMB"


async def test_module_delete_and_restore_round_trip(api: Api) -> None:
    module = (await api.query("mutation($l: String!) { createModule(data: {label: $l}) "
                              "{ name listField } }", {"l": unique("Project")}))["createModule"]
    await api.query(f'mutation {{ create{module["name"]}(data: {{name: "Apollo"}}) {{ id }} }}')
    listing = f"{{ {module['listField']} {{ edges {{ node {{ name }} }} }} }}"
    await api.query("mutation($n: String!) { deleteModule(name: $n) { version } }",
                    {"n": module["name"]})
    assert (await api.errors(listing))[0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    await api.query("mutation($n: String!) { restoreModule(name: $n) { name } }",
                    {"n": module["name"]})
    found = await api.query(listing)
    assert found[module["listField"]]["edges"] == [{"node": {"name": "Apollo"}}]


CONVERT = """mutation($n: String!, $t: String!, $dry: Boolean!, $clear: Boolean) {
  convertField(module: "Account", name: $n, type: $t, dryRun: $dry, clearFailures: $clear) {
    total convertible failing failures { value reason } picklistValues applied } }"""


async def test_dry_run_then_convert_text_to_integer(api: Api) -> None:
    field = (await create_field(api, "Account", label=unique("Seats"), type="text"))["name"]
    for value in ("12", " 1,200", "many"):
        await api.query(f'mutation {{ createAccount(data: {{name: "A", {field}: "{value}"}}) '
                        "{ id } }")
    report = (await api.query(CONVERT, {"n": field, "t": "integer", "dry": True}))["convertField"]
    assert (report["total"], report["convertible"], report["failing"]) == (3, 2, 1)
    assert report["failures"][0]["value"] == "many" and not report["applied"]
    # Converting while a value fails is refused and changes nothing
    errors = await api.errors(CONVERT, {"n": field, "t": "integer", "dry": False})
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    # With clearFailures it converts, in one transaction
    done = (await api.query(CONVERT, {"n": field, "t": "integer", "dry": False,
                                      "clear": True}))["convertField"]
    assert done["applied"]
    found = await api.query(f"{{ accounts(orderBy: [{{{field}: AscNullsLast}}]) "
                            f"{{ edges {{ node {{ {field} }} }} }} }}")
    assert [e["node"][field] for e in found["accounts"]["edges"]] == [12, 1200, None]


async def test_convert_text_to_picklist_and_on_to_multipicklist(api: Api) -> None:
    field = (await create_field(api, "Account", label=unique("Tier"), type="text"))["name"]
    for value in ("Gold", "Silver", "Gold"):
        await api.query(f'mutation {{ createAccount(data: {{name: "A", {field}: "{value}"}}) '
                        "{ id } }")
    report = (await api.query(CONVERT, {"n": field, "t": "picklist", "dry": False}))
    assert report["convertField"]["picklistValues"] == ["Gold", "Silver"]
    await api.query(CONVERT, {"n": field, "t": "multipicklist", "dry": False})
    found = await api.query(f'{{ accounts(filter: {{{field}: {{hasAny: ["Gold"]}}}}) '
                            "{ totalCount } }")
    assert found["accounts"]["totalCount"] == 2


async def test_picklist_values_change_with_the_records_holding_them(api: Api) -> None:
    field = (await create_field(api, "Account", label=unique("Size"), type="picklist",
                                values=["S", "M", "L"]))["name"]
    for value in ("S", "M", "M"):
        await api.query(f'mutation {{ createAccount(data: {{name: "A", {field}: "{value}"}}) '
                        "{ id } }")
    args = {"n": field}
    await api.query('mutation($n: String!) { addPicklistValues(module: "Account", field: $n, '
                    'values: ["XL"]) { name } }', args)
    await api.query('mutation($n: String!) { renamePicklistValue(module: "Account", field: $n,'
                    ' value: "M", newValue: "Medium") { name } }', args)
    await api.query('mutation($n: String!) { reorderPicklistValues(module: "Account", field: '
                    '$n, values: ["XL", "L", "Medium", "S"]) { name } }', args)
    dry = await api.query('mutation($n: String!) { removePicklistValue(module: "Account", '
                          'field: $n, value: "Medium", replacement: "L", dryRun: true) '
                          "{ records action applied } }", args)
    assert dry["removePicklistValue"] == {"records": 2, "action": "replaced by 'L'",
                                          "applied": False}
    await api.query('mutation($n: String!) { removePicklistValue(module: "Account", field: $n,'
                    ' value: "Medium", replacement: "L") { applied } }', args)
    described = await api.query('{ module(name: "Account") { fields { name picklistValues } } }')
    values = next(f for f in described["module"]["fields"] if f["name"] == field)
    assert values["picklistValues"] == ["XL", "L", "S"]
    found = await api.query(f"{{ accounts {{ edges {{ node {{ {field} }} }} }} }}")
    assert sorted(e["node"][field] for e in found["accounts"]["edges"]) == ["L", "L", "S"]


async def test_a_failing_change_leaves_neither_metadata_nor_column(api: Api) -> None:
    # Given two accounts, a unique field with a default would give both the same value
    for name in ("A", "B"):
        await api.query(f'mutation {{ createAccount(data: {{name: "{name}"}}) {{ id }} }}')
    label = unique("Code")
    error = await field_error(api, "Account", label=label, type="text", unique=True,
                              default="X")
    assert error["extensions"]["code"] in ("BAD_USER_INPUT", "CONFLICT")
    async with api.engine.connect() as conn:
        rows = (await conn.exec_driver_sql(
            "SELECT count(*) FROM dg_fields WHERE label = $1", (label,))).scalar_one()
        columns = (await conn.exec_driver_sql(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'm_account' "
            "AND column_name LIKE 'x_code%'")).scalar_one()
    assert (rows, columns) == (0, 0)


async def test_many_to_many_between_a_custom_and_a_standard_module(api: Api) -> None:
    module = (await api.query("mutation($l: String!) { createModule(data: {label: $l}) "
                              "{ name } }", {"l": unique("Event")}))["createModule"]["name"]
    await api.query("""mutation($m: String!) { createRelation(data: {left: $m, right: "Contact",
        leftName: "attendees", rightName: "attended"}) { name } }""", {"m": module})
    event = (await api.query(f'mutation {{ create{module}(data: {{name: "Expo"}}) {{ id }} }}'))
    contact = await api.query('mutation { createContact(data: {lastName: "Lee"}) { id } }')
    await api.query(f"mutation($e: ID!, $c: ID!) {{ link{module}Attendees(id: $e, ids: [$c]) "
                    "{ id } }", {"e": event[f"create{module}"]["id"],
                                 "c": contact["createContact"]["id"]})
    found = await api.query("{ contacts { edges { node { attended { totalCount "
                            "edges { node { name } } } } } } }")
    attended = found["contacts"]["edges"][0]["node"]["attended"]
    assert attended == {"totalCount": 1, "edges": [{"node": {"name": "Expo"}}]}


async def test_purge_drops_the_data_and_the_column_name_is_never_reused(api: Api) -> None:
    label = unique("Scratch")
    first = (await create_field(api, "Account", label=label, type="text"))["name"]
    await api.query('mutation($n: String!) { deleteField(module: "Account", name: $n) '
                    "{ version } }", {"n": first})
    await api.query('mutation($n: String!) { purgeField(module: "Account", name: $n) '
                    "{ message } }", {"n": first})
    again = (await create_field(api, "Account", label=label, type="text"))["name"]
    async with api.engine.connect() as conn:
        columns = [c for (c,) in await conn.exec_driver_sql(
            "SELECT column_name FROM dg_fields f JOIN dg_modules m ON m.id = f.module_id "
            "WHERE m.name = 'Account' AND f.name = $1 ORDER BY f.id", (first,))]
        live = {c for (c,) in await conn.exec_driver_sql(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'm_account'")}
    assert again == first
    assert len(columns) == 2 and columns[0] != columns[1]
    assert columns[0] not in live and columns[1] in live
    errors = await api.errors('mutation($n: String!) { restoreField(module: "Account", '
                              "name: $n) { name } }", {"n": first})
    assert errors[0]["extensions"]["code"] in ("NOT_FOUND", "BAD_USER_INPUT")


async def test_restoring_a_field_whose_name_was_taken_meanwhile_names_the_clash(api: Api) -> None:
    label = unique("Channel")
    name = (await create_field(api, "Contact", label=label, type="text"))["name"]
    await api.query('mutation($n: String!) { deleteField(module: "Contact", name: $n) '
                    "{ version } }", {"n": name})
    await create_field(api, "Contact", label=label, type="integer")
    errors = await api.errors('mutation($n: String!) { restoreField(module: "Contact", '
                              "name: $n) { name } }", {"n": name})
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "clashes" in errors[0]["message"]


async def test_module_labels_change_and_relations_come_and_go(api: Api) -> None:
    module = (await api.query("mutation($l: String!) { createModule(data: {label: $l}) "
                              "{ name } }", {"l": unique("Venue")}))["createModule"]["name"]
    changed = await api.query("""mutation($m: String!) { updateModule(name: $m, data: {
        label: "Place", pluralLabel: "Places", description: "Where events happen"}) {
        label pluralLabel description } }""", {"m": module})
    assert changed["updateModule"] == {"label": "Place", "pluralLabel": "Places",
                                       "description": "Where events happen"}
    relation = await api.query("""mutation($m: String!) { createRelation(data: {left: $m,
        right: "Account", leftName: "tenants", rightName: "venues"}) { name } }""",
                               {"m": module})
    name = relation["createRelation"]["name"]
    await api.query("mutation($n: String!) { deleteRelation(name: $n) { version } }",
                    {"n": name})
    errors = await api.errors("{ accounts { edges { node { venues { totalCount } } } } }")
    assert errors[0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    await api.query("mutation($n: String!) { restoreRelation(name: $n) { version } }",
                    {"n": name})
    await api.query("{ accounts { edges { node { venues { totalCount } } } } }")
