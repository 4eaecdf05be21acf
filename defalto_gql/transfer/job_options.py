"""Import options and mapping rules as the API gives them, checked before a job starts.

A job stores the options as given (JSON); ``import_options`` turns them into the
importer's options when the job runs, reading a saved mapping
(``transfer.saved_mappings``) at that time.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine

from defalto_gql.errors import BadUserInput
from defalto_gql.metadata.fieldtypes.base import unstorable
from defalto_gql.metadata.model import ModuleDef
from defalto_gql.transfer import csvfiles
from defalto_gql.transfer.importing import ON_DUPLICATE, ImportOptions
from defalto_gql.transfer.mapping import Mapping, MappingError, check_kinds, normalise

if TYPE_CHECKING:
    from defalto_gql.transfer.users import UserImportOptions

ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1", "iso-8859-1", "iso-8859-15",
             "windows-1252", "utf-16")


def _problem(message: str) -> BadUserInput:
    return BadUserInput(message, field="rules")


def check_rules(module: ModuleDef, rules: Any) -> dict[str, Any]:
    """Mapping rules in the shape ``Mapping.from_dict`` reads, naming fields ``module`` has."""
    if not isinstance(rules, dict):
        raise _problem("mapping rules must be a JSON object")
    try:
        mapping = Mapping.from_dict(rules)
        ImportOptions(mapping=mapping).check()
        check_kinds(module, mapping)
    except MappingError as exc:
        raise _problem(str(exc)) from None
    fields = {normalise(f.name): f for f in module.fields}
    fields.update({normalise(f.label): f for f in module.fields
                   if normalise(f.label) not in fields})

    def field_named(name: Any, where: str) -> None:
        if not isinstance(name, str) or normalise(name) not in fields:
            raise _problem(f"{where}: {module.name} has no field {name!r}")

    for column, target in mapping.columns.items():
        if target is not None:
            field_named(target, f"columns.{column}")
    named = [("values", mapping.values), ("references", rules.get("references", {})),
             ("join", mapping.joins), ("detect.fields", mapping.detect),
             ("detect.block", mapping.detect_block)]
    if not isinstance(mapping.extend, bool):
        named.append(("extendPicklists", mapping.extend))
    for where, names in named:
        for name in names:
            field_named(name, where)
    return rules


def no_nul(value: Any, field: str) -> None:
    """Refuse text PostgreSQL cannot hold (a NUL, a lone surrogate) in anything a job stores."""
    reason = unstorable(value)
    if reason:
        raise BadUserInput(f"text {reason}", field=field)


# Delimiters a CSV file can have: 'tab' (as the API spells it) or csvfiles' rule.
def _delimiter_ok(delimiter: str) -> bool:
    return delimiter == "tab" or csvfiles.usable_delimiter(delimiter)


def _encoding_ok(encoding: str) -> bool:
    """A text encoding that can read a file (not a codec such as rot13 or undefined)."""
    try:
        csvfiles.codec_name(encoding)
    except csvfiles.CsvFileError:
        return False
    return True


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


def _check_common(given: dict[str, Any], check_mapping: Any) -> None:
    """What every import's options must satisfy: storable text, one mapping, a readable file."""
    for key, value in given.items():
        no_nul(value, key)
    if given.get("mapping") is not None and given.get("mappingName") is not None:
        raise BadUserInput("give mapping rules or a saved mapping's name, not both",
                           field="mapping")
    if given.get("mapping") is not None:
        try:
            check_mapping(given["mapping"])
        except BadUserInput as exc:
            # Here the rules are the options' mapping (saveImportMapping calls them rules).
            raise BadUserInput(exc.message, field="mapping") from None
    encoding = given.get("encoding")
    if encoding is not None and not _encoding_ok(encoding):
        raise BadUserInput(f"unknown encoding {encoding[:40]!r}; for example {ENCODINGS}",
                           field="encoding")
    delimiter = given.get("delimiter")
    if delimiter is not None and not _delimiter_ok(delimiter):
        raise BadUserInput("the delimiter is 'tab' or one punctuation character such as , ; |",
                           field="delimiter")


def check_user_options(given: dict[str, Any]) -> dict[str, Any]:
    """Options of a user import: matched on email or name, skipped or updated."""
    _check_common(given, check_user_rules)
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
    _check_common(given, lambda rules: check_rules(module, rules))
    if given.get("onDuplicate", "skip") not in ON_DUPLICATE:
        raise BadUserInput(f"onDuplicate must be one of {', '.join(ON_DUPLICATE)}",
                           field="onDuplicate")
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


async def _rules(engine: AsyncEngine, module: str, given: dict[str, Any]) -> dict[str, Any]:
    """The mapping rules given, or those saved under the name given, read now."""
    from defalto_gql.transfer.saved_mappings import mapping_rules

    if given.get("mappingName"):
        async with engine.connect() as conn:
            return await mapping_rules(conn, module, given["mappingName"])
    return given.get("mapping") or {}


def _common(given: dict[str, Any]) -> dict[str, Any]:
    delimiter = given.get("delimiter")
    return {"match": tuple(given.get("match") or ()),
            "on_duplicate": given.get("onDuplicate") or "skip",
            "dry_run": bool(given.get("dryRun")), "encoding": given.get("encoding"),
            "delimiter": "\t" if delimiter == "tab" else delimiter}


async def import_options(engine: AsyncEngine, module: str, given: dict[str, Any], *,
                         rejects: Path, duplicates: Path) -> ImportOptions:
    """ImportOptions for a job of a record module."""
    rules = await _rules(engine, module, given)
    return ImportOptions(
        mapping=Mapping.from_dict(rules), day_first=bool(given.get("dayFirst")),
        rejects=rejects, detect=tuple(given.get("detect") or ()),
        detect_block=tuple(given.get("detectBlock") or ()),
        detect_threshold=given.get("detectThreshold"), duplicates=duplicates, **_common(given))


async def user_import_options(engine: AsyncEngine, given: dict[str, Any], *,
                              rejects: Path) -> UserImportOptions:
    """UserImportOptions for a job that imports people."""
    from defalto_gql.transfer.userrules import UserRules
    from defalto_gql.transfer.users import MODULE, UserImportOptions

    rules = await _rules(engine, MODULE, given)
    return UserImportOptions(rules=UserRules.from_dict(rules), rejects=rejects,
                             **_common(given))
