"""The metadata API: describe the data model, and change it live.

Every change runs in one transaction under an advisory lock (changes from
several instances queue up), and before it commits the new schema is built
from the changed metadata: a change that would not build is rolled back with
its DDL, so the served schema always builds. After the commit this instance
serves the new schema at once; the others follow through NOTIFY.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import strawberry
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from defalto_gql.db import ddl
from defalto_gql.errors import BadUserInput, DefaltoError, Forbidden
from defalto_gql.metadata import admin, changes, conversion, picklists
from defalto_gql.metadata.loader import load_snapshot
from defalto_gql.metadata.naming import camel
from defalto_gql.records.datamodel import build_datamodel
from defalto_gql.schema.inputs import plain
from defalto_gql.schema.metadata_types import (
    ConversionReport,
    FieldChangeInput,
    FieldInfo,
    FieldInput,
    MetadataChange,
    ModuleChangeInput,
    ModuleInfo,
    ModuleInput,
    PicklistRemoval,
    RelationInfo,
    RelationInput,
    module_info,
)

METADATA_LOCK = 7314004
Change = Callable[[AsyncConnection], Awaitable[Any]]


async def run_change(info: strawberry.Info, change: Change) -> Any:
    """Run one metadata change: lock, change, prove the schema builds, commit, serve."""
    from defalto_gql.runtime import build_generation

    require_admin(info)
    runtime = info.context.runtime
    async with runtime.engine.begin() as conn:
        await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({METADATA_LOCK})")
        ddl.defer_ddl(conn)
        try:
            result = await change(conn)
            snapshot = await load_snapshot(conn)
            try:
                # Built in a worker thread, so this instance keeps answering meanwhile.
                generation = await asyncio.to_thread(
                    build_generation, build_datamodel(snapshot), runtime.settings)
            except DefaltoError:
                raise
            except Exception as exc:
                raise BadUserInput(f"the change would leave a schema that does not build: "
                                   f"{exc}") from exc
            await ddl.run_deferred(conn)
        except DBAPIError as exc:
            # The DDL or a backfill met stored data it cannot fit (duplicates for a
            # unique field, say); the transaction rolls back whole.
            detail = getattr(exc.orig, "args", [str(exc)])[0]
            raise BadUserInput(f"the change does not fit the stored data: {detail}") from exc
        finally:
            ddl.stop_deferring(conn)
    await runtime.install(generation)
    return result


async def run_or_preview(info: strawberry.Info, change: Change, dry_run: bool) -> Any:
    """A dry run reads only (no lock, no schema build); otherwise the change runs for real."""
    if not dry_run:
        return await run_change(info, change)
    require_admin(info)
    async with info.context.runtime.engine.connect() as conn:
        return await change(conn)


def require_admin(info: strawberry.Info) -> None:
    """Changing the data model (and seeing what a dry run would do) is for administrators."""
    if not info.context.records.rights.is_admin:
        raise Forbidden("only administrators may change the data model", field="metadata")


def _model(info: strawberry.Info) -> Any:
    return info.context.runtime.generation().model


def _module(info: strawberry.Info, name: str) -> Any:
    model = _model(info)
    module = model.snapshot.modules.get(name)
    if module is None:
        raise BadUserInput(f"there is no module {name!r}", field="module")
    return module_info(model, module)


def _field(info: strawberry.Info, module: str, name: str) -> Any:
    found = next((f for f in _module(info, module)["fields"] if f["name"] == name), None)
    if found is None:
        raise BadUserInput(f"module {module} has no field {name!r}", field="name")
    return found


def _visible(info: strawberry.Info, model: Any, module: Any) -> dict[str, Any]:
    """A module's description without the fields hidden from this user."""
    found = module_info(model, module)
    hidden = info.context.records.rights.hidden(module.name)
    found["fields"] = [f for f in found["fields"] if f["name"] not in hidden]
    return found


def _done(info: strawberry.Info, message: str) -> MetadataChange:
    return MetadataChange(version=_model(info).snapshot.version, message=message)


def _numbers(spec: dict[str, Any]) -> dict[str, Any]:
    # Limits are stored in JSON; as decimal text they keep every digit. Omitted
    # (null) settings are left out, so defaults apply.
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in spec.items() if v is not None}


def _field_spec(data: Any) -> dict[str, Any]:
    spec = _numbers(plain(data))
    spec["help"] = spec.pop("helpText", None)
    spec["reverse"] = spec.pop("reverseName", None)
    return spec


@strawberry.type
class MetadataQuery:
    @strawberry.field(description="Every module of the data model you may view, with the "
                                  "fields you may see.")
    def modules(self, info: strawberry.Info) -> list[ModuleInfo]:
        model = _model(info)
        return [_visible(info, model, m) for m in model.snapshot.modules.values()  # type: ignore[misc]
                if info.context.records.rights.allows(m.name, "view")]

    @strawberry.field(description="One module by name; null if there is none (or you may not "
                                  "view it).")
    def module(self, info: strawberry.Info, name: str) -> ModuleInfo | None:
        module = _model(info).snapshot.modules.get(name)
        if module is None or not info.context.records.rights.allows(name, "view"):
            return None
        return _visible(info, _model(info), module)  # type: ignore[return-value]

    @strawberry.field(description="Every many-to-many relation between modules you may view.")
    def relations(self, info: strawberry.Info) -> list[RelationInfo]:
        return [
            {"name": r.name, "label": r.label, "left": r.left, "right": r.right,  # type: ignore[misc]
             "leftName": r.left_name, "rightName": r.right_name}
            for r in _model(info).snapshot.relations
            if info.context.records.rights.allows(r.left, "view")
            and info.context.records.rights.allows(r.right, "view")
        ]

    @strawberry.field(description="Names of the field types one can add.")
    def fieldTypes(self) -> list[str]:
        from defalto_gql.metadata.fieldtypes import FIELD_TYPES

        return sorted(k for k, t in FIELD_TYPES.items() if t.writable)


@strawberry.type
class MetadataMutation:
    @strawberry.mutation(description="Create a custom module with its table and full API.")
    async def createModule(self, info: strawberry.Info, data: ModuleInput) -> ModuleInfo:
        spec = {k: v for k, v in plain(data).items() if v is not None}
        label_field = camel(spec.pop("labelFieldLabel", None) or "Name") or "name"

        async def change(conn: AsyncConnection) -> str:
            module_id = await admin.create_module(conn, {**spec, "labelField": label_field},
                                                  shipped=False)
            name = (await conn.exec_driver_sql(
                "SELECT name FROM dg_modules WHERE id = $1", (module_id,))).scalar_one()
            await admin.create_field(conn, name, {
                "name": label_field, "label": data.labelFieldLabel, "type": "text",
                "required": True}, shipped=False)
            return str(name)

        return _module(info, await run_change(info, change))  # type: ignore[no-any-return]

    @strawberry.mutation(description="Change a module's labels or label field.")
    async def updateModule(self, info: strawberry.Info, name: str, data: ModuleChangeInput
                           ) -> ModuleInfo:
        await run_change(info, lambda conn: changes.update_module(conn, name, plain(data)))
        return _module(info, name)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Hide a module from the API; its data stays.")
    async def deleteModule(self, info: strawberry.Info, name: str) -> MetadataChange:
        await run_change(info, lambda conn: changes.delete_module(conn, name))
        return _done(info, f"module {name} deleted; restoreModule brings it back")

    @strawberry.mutation(description="Bring a deleted module back with its data.")
    async def restoreModule(self, info: strawberry.Info, name: str) -> ModuleInfo:
        await run_change(info, lambda conn: changes.restore_module(conn, name))
        return _module(info, name)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Drop a deleted module's data for good.")
    async def purgeModule(self, info: strawberry.Info, name: str) -> MetadataChange:
        await run_change(info, lambda conn: changes.purge_module(conn, name))
        return _done(info, f"module {name} purged")

    @strawberry.mutation(description="Add a field of any type to any module.")
    async def createField(self, info: strawberry.Info, module: str, data: FieldInput
                          ) -> FieldInfo:
        spec = _field_spec(data)

        async def change(conn: AsyncConnection) -> str:
            await admin.create_field(conn, module, spec, shipped=False)
            return str(spec.get("name") or camel(spec["label"]))

        return _field(info, module, await run_change(info, change))  # type: ignore[no-any-return]

    @strawberry.mutation(description="Rename a field or change its settings; values stay.")
    async def updateField(self, info: strawberry.Info, module: str, name: str,
                          data: FieldChangeInput) -> FieldInfo:
        spec = _field_spec(data)
        new = await run_change(info, lambda conn: changes.update_field(conn, module, name, spec))
        return _field(info, module, new)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Hide a field from the API; its values stay.")
    async def deleteField(self, info: strawberry.Info, module: str, name: str
                          ) -> MetadataChange:
        await run_change(info, lambda conn: changes.delete_field(conn, module, name))
        return _done(info, f"field {module}.{name} deleted; restoreField brings it back")

    @strawberry.mutation(description="Bring a deleted field back with its values.")
    async def restoreField(self, info: strawberry.Info, module: str, name: str) -> FieldInfo:
        await run_change(info, lambda conn: changes.restore_field(conn, module, name))
        return _field(info, module, name)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Drop a deleted field's values for good.")
    async def purgeField(self, info: strawberry.Info, module: str, name: str) -> MetadataChange:
        await run_change(info, lambda conn: changes.purge_field(conn, module, name))
        return _done(info, f"field {module}.{name} purged")

    @strawberry.mutation(description="Change a field's type. With dryRun (the default) only "
                                     "report which values convert.")
    async def convertField(
        self, info: strawberry.Info, module: str, name: str, type: str,
        values: list[str] | None = None, dryRun: bool = True, clearFailures: bool = False,
    ) -> ConversionReport:
        async def change(conn: AsyncConnection) -> Any:
            return await conversion.convert_field(
                conn, module, name, type, values=values, dry_run=dryRun,
                clear_failures=clearFailures)

        return _report(await run_or_preview(info, change, dryRun))

    @strawberry.mutation(description="Relate two modules many-to-many.")
    async def createRelation(self, info: strawberry.Info, data: RelationInput) -> RelationInfo:
        spec = plain(data)
        await run_change(info, lambda conn: admin.create_relation(conn, spec, shipped=False))
        name = spec.get("name") or camel(f"{spec['left']} {spec['leftName']}")
        listed: list[Any] = MetadataQuery.relations(self, info)
        found: RelationInfo = next(r for r in listed if r["name"] == name)
        return found

    @strawberry.mutation(description="Hide a many-to-many relation; its links stay.")
    async def deleteRelation(self, info: strawberry.Info, name: str) -> MetadataChange:
        await run_change(info, lambda conn: changes.set_relation_deleted(conn, name, True))
        return _done(info, f"relation {name} deleted")

    @strawberry.mutation(description="Bring a deleted relation back with its links.")
    async def restoreRelation(self, info: strawberry.Info, name: str) -> MetadataChange:
        await run_change(info, lambda conn: changes.set_relation_deleted(conn, name, False))
        return _done(info, f"relation {name} restored")

    @strawberry.mutation(description="Add values at the end of a picklist.")
    async def addPicklistValues(self, info: strawberry.Info, module: str, field: str,
                                values: list[str]) -> FieldInfo:
        await run_change(info, lambda conn: picklists.add_values(conn, module, field, values))
        return _field(info, module, field)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Rename a picklist value in the list and in every record.")
    async def renamePicklistValue(self, info: strawberry.Info, module: str, field: str,
                                  value: str, newValue: str) -> FieldInfo:
        await run_change(info, lambda conn: picklists.rename_value(conn, module, field, value,
                                                                    newValue))
        return _field(info, module, field)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Put a picklist's values in a new order.")
    async def reorderPicklistValues(self, info: strawberry.Info, module: str, field: str,
                                    values: list[str]) -> FieldInfo:
        await run_change(info, lambda conn: picklists.reorder_values(conn, module, field,
                                                                      values))
        return _field(info, module, field)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Remove a picklist value. Records holding it get the "
                                     "replacement, or lose the value; dryRun only reports.")
    async def removePicklistValue(
        self, info: strawberry.Info, module: str, field: str, value: str,
        replacement: str | None = None, dryRun: bool = False,
    ) -> PicklistRemoval:
        async def change(conn: AsyncConnection) -> Any:
            return await picklists.remove_value(conn, module, field, value, replacement,
                                                dryRun)

        found = await run_or_preview(info, change, dryRun)
        return PicklistRemoval(value=found.value, records=found.records, action=found.action,
                               applied=found.applied)


def _report(report: Any) -> ConversionReport:
    from defalto_gql.schema.metadata_types import ConversionFailure

    return ConversionReport(
        field=report.field, fromType=report.from_type, toType=report.to_type,
        total=report.total, convertible=report.convertible, failing=report.failing,
        failures=[ConversionFailure(id=i, value=v, reason=r) for i, v, r in report.failures],
        picklistValues=report.picklist_values, applied=report.applied,
    )
