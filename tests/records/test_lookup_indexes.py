"""Text found by its value ignoring case (emails, labels, record numbers) has an index."""

from __future__ import annotations

import uuid

from defalto_gql.bootstrap import prepare_database
from tests.conftest import Api


async def indexes(api: Api, module: str) -> set[str]:
    table = api.runtime.generation().model.tables.of(module).name
    async with api.engine.connect() as conn:
        rows = await conn.exec_driver_sql(
            "SELECT indexdef FROM pg_indexes WHERE tablename = $1", (table,))
        return {definition for (definition,) in rows}


async def test_emails_labels_and_record_numbers_have_lower_case_indexes(api: Api) -> None:
    found = " ".join(await indexes(api, "Contact"))
    for column in ("email", "last_name", "record_number"):
        assert f"lower(({column})::text)" in found, found


async def test_a_new_email_field_gets_its_index_and_old_databases_get_theirs(api: Api) -> None:
    name = f"backupEmail{uuid.uuid4().hex[:6]}"
    await api.query("mutation($d: FieldInput!) { createField(module: \"Lead\", data: $d) "
                    "{ name } }", {"d": {"name": name, "label": name, "type": "email"}})
    await api.runtime.refresh()
    column = api.runtime.generation().model.snapshot.module("Lead").field(name).column
    assert f"lower(({column})::text)" in " ".join(await indexes(api, "Lead"))

    # A database made before these indexes existed gets them at the next start
    table = api.runtime.generation().model.tables.of("Lead").name
    async with api.engine.begin() as conn:
        await conn.exec_driver_sql(f'DROP INDEX "{table}_{column}_lower"')
    assert f"lower(({column})::text)" not in " ".join(await indexes(api, "Lead"))
    await prepare_database(api.engine)
    assert f"lower(({column})::text)" in " ".join(await indexes(api, "Lead"))


async def test_an_email_field_converted_to_a_number_loses_its_lower_case_index(
    api: Api
) -> None:
    name = f"codeEmail{uuid.uuid4().hex[:6]}"
    await api.query("mutation($d: FieldInput!) { createField(module: \"Lead\", data: $d) "
                    "{ name } }", {"d": {"name": name, "label": name, "type": "email"}})
    converted = await api.query(
        "mutation($n: String!) { convertField(module: \"Lead\", name: $n, type: \"integer\", "
        "dryRun: false, clearFailures: true) { applied } }", {"n": name})
    await api.runtime.refresh()
    column = api.runtime.generation().model.snapshot.module("Lead").field(name).column
    assert converted["convertField"]["applied"] is True
    assert f"({column})" not in " ".join(await indexes(api, "Lead"))
