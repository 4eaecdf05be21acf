"""Which CSV column fills which field, and the rules a saved mapping file adds.

A mapping file is JSON, saved and reused between imports::

    {
      "columns": {"deal_stage": "stage", "engage_date": null},
      "values": {"stage": {"Won": "Closed Won", "Lost": "Closed Lost"}},
      "references": {"account": {"create": false}},
      "extendPicklists": ["stage"],
      "join": {"mailingStreet": {"columns": ["street_number", "address_1"],
                                 "separator": " "}},
      "detect": {"fields": ["firstName", "lastName"], "block": ["birthday"],
                 "threshold": 0.8},
      "currencies": {"amount": "USD"}
    }

- ``columns``: a header to a field name (or its label); ``null`` ignores the
  column. Columns not listed map automatically: a header matches a field whose
  name or label is the same ignoring case, spaces and punctuation.
- ``values``: per field, a cell value to the value stored (typos, other words).
- ``references``: per reference field, ``create: true`` creates a missing
  target record named by the cell instead of rejecting the row.
- ``extendPicklists``: picklist fields whose unknown values are added to the
  picklist (``true`` for all); otherwise an unknown value rejects the row.
- ``join``: per field, columns whose non-empty cells are joined (with
  ``separator``, a space by default) into that field; the columns fill nothing
  else.
- ``detect``: duplicate detection by similarity (``transfer/detection.py``):
  the fields compared, the blocking fields and the threshold.
- ``currencies``: per currency field, the currency of the amounts its column
  gives without a code (``1054``); a cell with its code keeps it. Without a rule
  such a cell takes the field's default currency, or is a row error.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from defalto_gql.metadata.fieldtypes.reference import ReferenceType
from defalto_gql.metadata.model import FieldDef, ModuleDef


def normalise(name: str) -> str:
    """A name without case, spaces or punctuation: ``Account Name`` -> ``accountname``."""
    return re.sub(r"[\W_]+", "", name.casefold())


class MappingError(ValueError):
    """A mapping file that names fields the module does not have, or is not JSON."""


def read_rules(path: Path) -> dict[str, Any]:
    """A mapping file's rules: one JSON object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MappingError(f"cannot read the mapping {path}: {exc}") from None
    except RecursionError:
        raise MappingError(f"cannot read the mapping {path}: it nests too deeply") from None
    if not isinstance(data, dict):
        raise MappingError(f"the mapping {path} must hold one JSON object")
    return data


@dataclass(frozen=True)
class Mapping:
    """Explicit rules for one import; an empty mapping maps every column automatically."""

    columns: dict[str, str | None] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    create_references: frozenset[str] = frozenset()
    extend: frozenset[str] | bool = frozenset()
    joins: dict[str, tuple[tuple[str, ...], str]] = field(default_factory=dict)
    detect: tuple[str, ...] = ()
    detect_block: tuple[str, ...] = ()
    detect_threshold: float | None = None
    currencies: dict[str, str] = field(default_factory=dict)

    def extends(self, name: str) -> bool:
        return self.extend is True or (not isinstance(self.extend, bool) and name in self.extend)

    @classmethod
    def load(cls, path: Path) -> Mapping:
        return cls.from_dict(read_rules(path))

    @classmethod
    def from_dict(cls, data: Any) -> Mapping:
        """The rules of a mapping file; MappingError for an unknown key or a wrong shape."""
        if not isinstance(data, dict):
            raise MappingError("mapping rules must be one JSON object")
        _known_keys(data, RULE_KEYS, "the mapping")
        detect = _object(data.get("detect", {}), "detect", DETECT_SHAPE)
        _known_keys(detect, ("fields", "block", "threshold"), "detect")
        return cls(
            columns=_column_rules(data.get("columns", {})),
            values=_value_rules(data.get("values", {})),
            create_references=_reference_rules(data.get("references", {})),
            extend=_extend_rule(data.get("extendPicklists", [])),
            joins=_join_rules(data.get("join", {})),
            detect=_names(detect.get("fields", []), "detect.fields"),
            detect_block=_names(detect.get("block", []), "detect.block"),
            detect_threshold=_threshold(detect.get("threshold")),
            currencies=_currency_rules(data.get("currencies", {})),
        )


# The keys a mapping file may have, and the shapes their values take.
RULE_KEYS = ("columns", "values", "references", "extendPicklists", "join", "detect",
             "currencies")
DETECT_SHAPE = '{"fields": [...], "block": [...], "threshold": 0.8}'
JOIN_SHAPE = '{"columns": [...], "separator": " "}'


def _object(given: Any, where: str, shape: str) -> dict[str, Any]:
    if not isinstance(given, dict):
        raise MappingError(f"{where} must be {shape}, not {_shown(given)}")
    return given


def _known_keys(given: dict[str, Any], known: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise MappingError(f"unknown mapping keys {unknown} in {where}; known: {list(known)}")


def _names(given: Any, where: str) -> tuple[str, ...]:
    if not isinstance(given, list) or not all(isinstance(n, str) for n in given):
        raise MappingError(f"{where} must be a list of field names, not {_shown(given)}")
    return tuple(given)


def _column_rules(given: Any) -> dict[str, str | None]:
    columns = _object(given, "columns", '{"CSV header": "field name" or null}')
    found: dict[str, str | None] = {}
    for column, target in columns.items():
        if target is not None and not isinstance(target, str):
            raise MappingError(f"columns.{column} must be a field name or null, "
                               f"not {_shown(target)}")
        # Headers lose their stray spaces as they are read; so do the names of them here.
        if column.strip() in found:
            raise MappingError(f"columns names {column.strip()!r} twice")
        found[column.strip()] = target
    return found


def _reference_rules(given: Any) -> frozenset[str]:
    """The ``references`` section: the reference fields whose missing targets are created."""
    creates = set()
    for name, rule in _object(given, "references", '{"field": {"create": true}}').items():
        _object(rule, f"references.{name}", '{"create": true}')
        _known_keys(rule, ("create",), f"references.{name}")
        create = rule.get("create", False)
        if not isinstance(create, bool):
            raise MappingError(f"references.{name}.create must be true or false")
        if create:
            creates.add(name)
    return frozenset(creates)


def _extend_rule(given: Any) -> frozenset[str] | bool:
    if isinstance(given, bool):
        return given or frozenset()
    if not isinstance(given, list) or not all(isinstance(n, str) for n in given):
        raise MappingError("extendPicklists must be true or a list of field names, "
                           f"not {_shown(given)}")
    return frozenset(given)


def _join_rules(given: Any) -> dict[str, tuple[tuple[str, ...], str]]:
    joins = {}
    for name, rule in _object(given, "join", f'{{"field": {JOIN_SHAPE}}}').items():
        _object(rule, f"join.{name}", JOIN_SHAPE)
        _known_keys(rule, ("columns", "separator"), f"join.{name}")
        columns = tuple(c.strip() for c in _names(rule.get("columns"),
                                                  f"join.{name}.columns"))
        separator = rule.get("separator", " ")
        if not columns or not isinstance(separator, str):
            raise MappingError(f"join.{name} must be {JOIN_SHAPE}, with at least one column")
        joins[name] = (columns, separator)
    return joins


def _currency_rules(given: Any) -> dict[str, str]:
    """The ``currencies`` section: per currency field, the code of its bare amounts."""
    found = {}
    for name, code in _object(given, "currencies", '{"field": "EUR"}').items():
        if not isinstance(code, str) or not re.fullmatch(r"[A-Za-z]{3}", code):
            raise MappingError(f"currencies.{name} must be a three-letter ISO 4217 code "
                               f"such as \"EUR\", not {_shown(code)}")
        # In any case, as currency cells are read
        found[name] = code.upper()
    return found


def _threshold(given: Any) -> float | None:
    if given is None:
        return None
    if isinstance(given, bool) or not isinstance(given, int | float):
        raise MappingError(f"detect.threshold must be a number above 0 and at most 1, "
                           f"not {_shown(given)}")
    return float(given)


def _value_rules(given: Any) -> dict[str, dict[str, str]]:
    """The ``values`` section, checked: per field, cell texts to the texts stored."""
    if not isinstance(given, dict):
        raise MappingError("values must map field names to objects")
    for name, rule in given.items():
        if not isinstance(rule, dict):
            raise MappingError(f"values.{name} must map cell texts to texts, "
                               f"not {_shown(rule)}")
        for cell, value in rule.items():
            if not isinstance(cell, str) or not isinstance(value, str):
                raise MappingError(f"values.{name} must map cell texts to texts: "
                                   f"{_shown(cell)} maps to {_shown(value)}")
    return {name: dict(rule) for name, rule in given.items()}


def _candidates(module: ModuleDef) -> dict[str, FieldDef]:
    """Normalised names and labels of the fields an import may set."""
    found: dict[str, FieldDef] = {}
    # Labels first, then names, so a field's own name wins over another's label.
    for f in module.fields:
        if f.writable:
            found.setdefault(normalise(f.label), f)
    for f in module.fields:
        if f.writable:
            found[normalise(f.name)] = f
            if isinstance(f.type, ReferenceType) and not f.type.is_polymorphic(f):
                found[normalise(f"{f.name}Id")] = f
    return found


def plan_columns(module: ModuleDef, header: list[str], mapping: Mapping,
                 match: tuple[str, ...] = ()) -> list[FieldDef | None]:
    """For each column, the field it fills (``None``: ignored); MappingError for bad rules.

    The record number is never written, but a column is read into it when ``match``
    names it, to find the records to update (``--match recordNumber``).
    """
    known = {**_lookups(module, match), **_candidates(module)}
    unknown = [c for c in mapping.columns if c not in header]
    if unknown:
        raise MappingError(f"the mapping names columns the file does not have: {unknown}")
    joined = {c for columns, _ in mapping.joins.values() for c in columns}
    plan: list[FieldDef | None] = []
    for column in header:
        if column in joined and column not in mapping.columns:
            plan.append(None)
        elif column in mapping.columns:
            target = mapping.columns[column]
            f = None if target is None else known.get(normalise(target))
            if target is not None and f is None and _lookups(module, (target,)):
                raise MappingError(f"column {column!r}: the record number is given by the "
                                   "system; a column fills it only to match on "
                                   "(--match recordNumber)")
            if target is not None and f is None:
                raise MappingError(f"column {column!r}: {module.name} has no field {target!r} "
                                   "that an import can set")
            plan.append(f)
        else:
            plan.append(known.get(normalise(column)))
    plan = [None if f is None else read_as(f, mapping) for f in plan]
    taken = [f.name for f in plan if f is not None]
    taken += [f.name for f, _, _ in plan_joins(module, header, mapping)]
    twice = sorted({n for n in taken if taken.count(n) > 1})
    if twice:
        raise MappingError(f"several columns fill the same field: {twice}; map one to null")
    return plan


def read_as(f: FieldDef, mapping: Mapping) -> FieldDef:
    """The field as this file's cells are read: with the mapping's currency for bare amounts.

    Only the cell parser reads ``defaultCurrency``; every other setting is the field's.
    An importer that reloads its fields (after a picklist grew) reads them through here.
    """
    if f.name not in mapping.currencies:
        return f
    return dataclasses.replace(f, options={**f.options,
                                           "defaultCurrency": mapping.currencies[f.name]})


def _lookups(module: ModuleDef, match: tuple[str, ...]) -> dict[str, FieldDef]:
    """The record number by its normalised name and label, when ``match`` names it."""
    f = module.fields_by_name.get("recordNumber")
    if f is None:
        return {}
    names = {normalise(f.name), normalise(f.label)}
    return dict.fromkeys(names, f) if names & {normalise(m) for m in match} else {}


def plan_joins(module: ModuleDef, header: list[str], mapping: Mapping
               ) -> list[tuple[FieldDef, list[int], str]]:
    """For each join rule: the field, the indexes of its columns, the separator."""
    known = _candidates(module)
    found = []
    for name, (columns, separator) in mapping.joins.items():
        f = known.get(normalise(name))
        if f is None or f.type_key not in ("text", "longtext"):
            raise MappingError(f"join: {module.name} has no text field {name!r} to join into")
        missing = [c for c in columns if c not in header]
        if missing:
            raise MappingError(f"join {name}: the file has no columns {missing}")
        found.append((f, [header.index(c) for c in columns], separator))
    return found


def _shown(value: Any) -> str:
    """A value as JSON for a message: cut short, and never failing however deep it nests."""
    try:
        text = json.dumps(value)
    except (RecursionError, ValueError):
        return "a value nested too deeply"
    return text if len(text) <= 80 else text[:77] + "..."


def check_kinds(module: ModuleDef, mapping: Mapping) -> None:
    """The fields ``references``, ``extendPicklists`` and ``currencies`` name: of the right kind.

    They are looked up by name as rows are read, so a label or a field of another
    type would make the rule do nothing, silently.
    """
    kinds: list[tuple[str, frozenset[str], tuple[str, ...], str]] = [
        ("references", mapping.create_references, ("reference",), "a reference"),
        ("currencies", frozenset(mapping.currencies), ("currency",), "a currency")]
    if not isinstance(mapping.extend, bool):
        kinds.append(("extendPicklists", mapping.extend, ("picklist", "multipicklist"),
                      "a picklist"))
    for where, names, types, what in kinds:
        for name in sorted(names):
            f = module.fields_by_name.get(name)
            if f is None:
                raise MappingError(f"{where}: {module.name} has no field named {name!r} "
                                   "(give the field's name, not its label)")
            if f.type_key not in types:
                raise MappingError(f"{where}: {name} is not {what} field")
