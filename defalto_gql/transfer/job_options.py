"""Saved import mappings, and import options as the API gives them (checked up front).

A saved mapping is a named set of mapping rules (``transfer.mapping``) for one
module, shared by everyone who may import into it, so the same kind of file
imports the same way each time.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

if TYPE_CHECKING:
    from defalto_gql.transfer.users import UserImportOptions

from defalto_gql.errors import BadUserInput, Forbidden, NotFound
from defalto_gql.metadata.model import ModuleDef
from defalto_gql.transfer.importing import ON_DUPLICATE, ImportOptions
from defalto_gql.transfer.mapping import Mapping, MappingError, normalise

RULE_KEYS = {"columns", "values", "references", "extendPicklists", "join", "detect"}
ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1", "iso-8859-1", "iso-8859-15",
             "windows-1252", "utf-16")


def _problem(message: str) -> BadUserInput:
    return BadUserInput(message, field="rules")


def check_rules(module: ModuleDef, rules: Any) -> dict[str, Any]:
    """Mapping rules in the documented shape, naming fields ``module`` has."""
    if not isinstance(rules, dict):
        raise _problem("mapping rules must be a JSON object")
    unknown = sorted(set(rules) - RULE_KEYS)
    if unknown:
        raise _problem(f"unknown mapping keys {unknown}; known: {sorted(RULE_KEYS)}")
    fields = {normalise(f.name): f for f in module.fields}
    fields.update({normalise(f.label): f for f in module.fields
                   if normalise(f.label) not in fields})

    def field_named(name: Any, where: str) -> None:
        if not isinstance(name, str) or normalise(name) not in fields:
            raise _problem(f"{where}: {module.name} has no field {name!r}")

    columns = rules.get("columns", {})
    if not isinstance(columns, dict):
        raise _problem("columns must map column names to field names (or null)")
    for column, target in columns.items():
        if target is not None:
            field_named(target, f"columns.{column}")
    for key in ("values", "references"):
        section = rules.get(key, {})
        if not isinstance(section, dict) or not all(isinstance(v, dict)
                                                     for v in section.values()):
            raise _problem(f"{key} must map field names to objects")
        for name in section:
            field_named(name, key)
    for name, translations in rules.get("values", {}).items():
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in translations.items()):
            raise _problem(f"values.{name} must map cell texts to texts")
    joins = rules.get("join", {})
    if not isinstance(joins, dict) or not all(isinstance(v, dict) for v in joins.values()):
        raise _problem('join must map field names to {"columns": [...], "separator": " "}')
    for name in joins:
        field_named(name, "join")
    detect = rules.get("detect", {})
    if not isinstance(detect, dict):
        raise _problem('detect must be {"fields": [...], "block": [...], "threshold": 0.8}')
    for key in ("fields", "block"):
        names = detect.get(key, [])
        if not isinstance(names, list):
            raise _problem(f"detect.{key} must be a list of field names")
        for name in names:
            field_named(name, f"detect.{key}")
    try:
        ImportOptions(mapping=Mapping.from_dict(rules)).check()
    except (MappingError, TypeError, ValueError, AttributeError) as exc:
        raise _problem(str(exc)) from None
    extend = rules.get("extendPicklists", [])
    if extend is not True:
        if not isinstance(extend, list):
            raise _problem("extendPicklists must be true or a list of field names")
        for name in extend:
            field_named(name, "extendPicklists")
    return rules


async def save_mapping(conn: AsyncConnection, module: ModuleDef | str, name: str, rules: Any,
                       user_id: str, is_admin: bool) -> Any:
    """Save rules under a name; only whoever saved a name (or an administrator) replaces it."""
    name = mapping_name(name)
    no_nul(rules, "rules")
    if isinstance(module, str):
        checked = json.dumps(check_user_rules(rules))
    else:
        checked = json.dumps(check_rules(module, rules))
        module = module.name
    owner = (await conn.exec_driver_sql(
        "SELECT created_by::text FROM dg_import_mappings WHERE module = $1 AND name = $2",
        (module, name))).scalar()
    if owner is not None and owner != user_id and not is_admin:
        raise Forbidden(f"the mapping {name!r} was saved by someone else; save yours under "
                        "another name", field="name")
    row = (await conn.exec_driver_sql(
        "INSERT INTO dg_import_mappings (module, name, rules, created_by) "
        "VALUES ($1, $2, $3::jsonb, $4) ON CONFLICT (module, name) DO UPDATE "
        "SET rules = EXCLUDED.rules, updated_at = now() "
        "RETURNING id::text AS id, module, name, rules, created_at, updated_at",
        (module, name, checked, user_id))).mappings().one()
    return row


async def list_mappings(conn: AsyncConnection, modules: list[str]) -> list[Any]:
    rows = await conn.exec_driver_sql(
        "SELECT id::text AS id, module, name, rules, created_at, updated_at "
        "FROM dg_import_mappings WHERE module = ANY($1) ORDER BY module, name", (modules,))
    return list(rows.mappings())


async def mapping_rules(conn: AsyncConnection, module: str, name: str) -> dict[str, Any]:
    name = name.strip()
    rules = (await conn.exec_driver_sql(
        "SELECT rules FROM dg_import_mappings WHERE module = $1 AND name = $2",
        (module, name))).scalar()
    if rules is None:
        raise NotFound(f"there is no saved {module} mapping named {name!r}", field="mappingName")
    return json.loads(rules) if isinstance(rules, str) else dict(rules)


async def delete_mapping(conn: AsyncConnection, module: str, name: str, user_id: str,
                         is_admin: bool) -> None:
    name = name.strip()
    owner = (await conn.exec_driver_sql(
        "SELECT created_by::text FROM dg_import_mappings WHERE module = $1 AND name = $2",
        (module, name))).scalar()
    if owner is None:
        raise NotFound(f"there is no saved {module} mapping named {name!r}", field="name")
    if owner != user_id and not is_admin:
        raise Forbidden("only whoever saved a mapping, or an administrator, deletes it",
                        field="name")
    await conn.exec_driver_sql(
        "DELETE FROM dg_import_mappings WHERE module = $1 AND name = $2", (module, name))


def no_nul(value: Any, field: str) -> None:
    """PostgreSQL text holds no NUL character: refuse it in anything a job stores."""
    if isinstance(value, str):
        if "\x00" in value:
            raise BadUserInput("text may not hold the NUL character", field=field)
    elif isinstance(value, dict):
        for key, item in value.items():
            no_nul(key, field)
            no_nul(item, field)
    elif isinstance(value, list):
        for item in value:
            no_nul(item, field)


def mapping_name(name: str) -> str:
    """A saved mapping's name, trimmed: 1 to 100 printable characters."""
    name = name.strip()
    if not name or len(name) > 100 or not name.isprintable():
        raise BadUserInput("a mapping's name is 1 to 100 printable characters", field="name")
    return name


# Delimiters a CSV file can have: printable, not a quote, not a letter, digit or space.
def _delimiter_ok(delimiter: str) -> bool:
    return delimiter in ("tab", "\t") or (
        len(delimiter) == 1 and delimiter.isascii() and delimiter.isprintable()
        and not delimiter.isalnum() and delimiter not in "\" '")  # no quote, no space


def _encoding_ok(encoding: str) -> bool:
    """A text encoding that can read a file (not a codec such as rot13 or undefined)."""
    try:
        info = codecs.lookup(encoding)
        "abc".encode(info.name).decode(info.name)
    except (LookupError, UnicodeError, TypeError):
        return False
    return bool(getattr(info, "_is_text_encoding", True))


def check_user_rules(rules: Any) -> dict[str, Any]:
    """A user import's mapping rules (``transfer.userrules``)."""
    from defalto_gql.transfer.userrules import UserRules

    if not isinstance(rules, dict):
        raise _problem("mapping rules must be a JSON object")
    try:
        UserRules.from_dict(rules)
    except (MappingError, TypeError, ValueError, AttributeError) as exc:
        raise _problem(str(exc)) from None
    return rules


def check_user_options(given: dict[str, Any]) -> dict[str, Any]:
    """Options of a user import: matched on email or name, skipped or updated."""
    for key, value in given.items():
        no_nul(value, "rules" if key == "mapping" else key)
    if given.get("mapping") is not None and given.get("mappingName") is not None:
        raise BadUserInput("give mapping rules or a saved mapping's name, not both",
                           field="mapping")
    if given.get("mapping") is not None:
        check_user_rules(given["mapping"])
    if given.get("onDuplicate", "skip") not in ("skip", "update"):
        raise BadUserInput("a user that exists already is skipped or updated",
                           field="onDuplicate")
    for name in given.get("match") or ():
        if name not in ("email", "name"):
            raise BadUserInput("users are matched on email or name", field="match")
    if given.get("detect") or given.get("detectBlock"):
        raise BadUserInput("users are matched on email or name, not detected", field="detect")
    return given


def check_options(module: ModuleDef, given: dict[str, Any]) -> dict[str, Any]:
    """The import options a request gives, checked before any file is stored."""
    for key, value in given.items():
        no_nul(value, "rules" if key == "mapping" else key)
    if given.get("mapping") is not None and given.get("mappingName") is not None:
        raise BadUserInput("give mapping rules or a saved mapping's name, not both",
                           field="mapping")
    if given.get("mapping") is not None:
        check_rules(module, given["mapping"])
    if given.get("onDuplicate", "skip") not in ON_DUPLICATE:
        raise BadUserInput(f"onDuplicate must be one of {', '.join(ON_DUPLICATE)}",
                           field="onDuplicate")
    encoding = given.get("encoding")
    if encoding is not None and not _encoding_ok(encoding):
        raise BadUserInput(f"unknown encoding {encoding[:40]!r}; for example {ENCODINGS}",
                           field="encoding")
    delimiter = given.get("delimiter")
    if delimiter is not None and not _delimiter_ok(delimiter):
        raise BadUserInput("the delimiter is 'tab' or one punctuation character such as , ; |",
                           field="delimiter")
    names = {normalise(f.name) for f in module.fields} | {normalise(f.label)
                                                          for f in module.fields}
    for key in ("match", "detect", "detectBlock"):
        for name in given.get(key) or ():
            if normalise(name) not in names:
                raise BadUserInput(f"{module.name} has no field {name!r}", field=key)
    threshold = given.get("detectThreshold")
    if threshold is not None and not 0 < threshold <= 1:
        raise BadUserInput("detectThreshold is above 0 and at most 1",
                           field="detectThreshold")
    if given.get("detectBlock") and not given.get("detect"):
        raise BadUserInput("detectBlock needs detect fields", field="detectBlock")
    return given


async def import_options(engine: AsyncEngine, module: str, given: dict[str, Any], *,
                         rejects: Path, duplicates: Path) -> ImportOptions:
    """ImportOptions for a job, with its saved mapping read now."""
    rules = given.get("mapping") or {}
    if given.get("mappingName"):
        async with engine.connect() as conn:
            rules = await mapping_rules(conn, module, given["mappingName"])
    delimiter = given.get("delimiter")
    return ImportOptions(
        mapping=Mapping.from_dict(rules), match=tuple(given.get("match") or ()),
        on_duplicate=given.get("onDuplicate") or "skip", dry_run=bool(given.get("dryRun")),
        encoding=given.get("encoding"), delimiter="\t" if delimiter == "tab" else delimiter,
        day_first=bool(given.get("dayFirst")), rejects=rejects,
        detect=tuple(given.get("detect") or ()), detect_block=tuple(given.get("detectBlock") or ()),
        detect_threshold=given.get("detectThreshold"), duplicates=duplicates,
    )


async def user_import_options(engine: AsyncEngine, given: dict[str, Any], *,
                              rejects: Path) -> UserImportOptions:
    """UserImportOptions for a job, with its saved mapping read now."""
    from defalto_gql.transfer.userrules import UserRules
    from defalto_gql.transfer.users import MODULE, UserImportOptions

    rules = given.get("mapping") or {}
    if given.get("mappingName"):
        async with engine.connect() as conn:
            rules = await mapping_rules(conn, MODULE, given["mappingName"])
    delimiter = given.get("delimiter")
    return UserImportOptions(
        rules=UserRules.from_dict(rules), match=tuple(given.get("match") or ()),
        on_duplicate=given.get("onDuplicate") or "skip", dry_run=bool(given.get("dryRun")),
        encoding=given.get("encoding"), delimiter="\t" if delimiter == "tab" else delimiter,
        rejects=rejects)
