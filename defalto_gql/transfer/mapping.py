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
                 "threshold": 0.8}
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
"""

from __future__ import annotations

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
    except (OSError, UnicodeError, json.JSONDecodeError) as exc:
        raise MappingError(f"cannot read the mapping {path}: {exc}") from None
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

    def extends(self, name: str) -> bool:
        return self.extend is True or (not isinstance(self.extend, bool) and name in self.extend)

    @classmethod
    def load(cls, path: Path) -> Mapping:
        return cls.from_dict(read_rules(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Mapping:
        extend = data.get("extendPicklists", [])
        creates = {name for name, rule in data.get("references", {}).items()
                   if rule.get("create")}
        detect = data.get("detect", {})
        threshold = detect.get("threshold")
        try:
            joins = {name: (tuple(rule["columns"]), str(rule.get("separator", " ")))
                     for name, rule in data.get("join", {}).items()}
        except (KeyError, TypeError):
            raise MappingError('each join is {"columns": [...], "separator": " "}') from None
        return cls(
            columns=dict(data.get("columns", {})),
            values=_value_rules(data.get("values", {})),
            create_references=frozenset(creates),
            extend=True if extend is True else frozenset(extend),
            joins=joins,
            detect=tuple(detect.get("fields", ())),
            detect_block=tuple(detect.get("block", ())),
            detect_threshold=None if threshold is None else float(threshold),
        )


def _value_rules(given: Any) -> dict[str, dict[str, str]]:
    """The ``values`` section, checked: per field, cell texts to the texts stored."""
    if not isinstance(given, dict):
        raise MappingError("values must map field names to objects")
    for name, rule in given.items():
        if not isinstance(rule, dict):
            raise MappingError(f"values.{name} must map cell texts to texts, "
                               f"not {json.dumps(rule)}")
        for cell, value in rule.items():
            if not isinstance(cell, str) or not isinstance(value, str):
                raise MappingError(f"values.{name} must map cell texts to texts: "
                                   f"{json.dumps(cell)} maps to {json.dumps(value)}")
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
    taken = [f.name for f in plan if f is not None]
    taken += [f.name for f, _, _ in plan_joins(module, header, mapping)]
    twice = sorted({n for n in taken if taken.count(n) > 1})
    if twice:
        raise MappingError(f"several columns fill the same field: {twice}; map one to null")
    return plan


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
