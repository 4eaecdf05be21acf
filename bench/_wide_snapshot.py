"""A synthetic metadata snapshot of many wide modules, built in memory as the loader would.

Each module has the built-in common fields, a required ``name`` label field,
and then custom fields cycling through every type one can add, with the
settings administrators give them: picklist values, number limits, help text,
blocks. Reference fields point at other modules and add a reverse list there;
the first one of each module is polymorphic (any module), as "related to"
fields are.
"""

from __future__ import annotations

from itertools import count
from typing import Any

from defalto_gql.metadata.builtin import builtin_fields
from defalto_gql.metadata.fieldtypes import FIELD_TYPES
from defalto_gql.metadata.model import ANY_MODULE, BlockDef, FieldDef, ModuleDef, Snapshot

# The types of the custom fields after ``name``, in turn.
FIELD_MIX = (
    "text",
    "integer",
    "decimal",
    "currency",
    "picklist",
    "multipicklist",
    "date",
    "datetime",
    "boolean",
    "email",
    "url",
    "phone",
    "longtext",
    "percent",
    "reference",
    "time",
    "rating",
    "json",
)
BLOCKS = (
    ("overview", "Overview"),
    ("details", "Details"),
    ("finance", "Finance"),
    ("notes", "Notes"),
)
PICKLIST = tuple(f"Stage {n}" for n in range(1, 13))
MULTIPICKLIST = ("Red", "Green", "Blue", "Amber", "Violet", "Teal")
OPTIONS: dict[str, dict[str, Any]] = {
    "text": {"maxLength": 255},
    "integer": {"min": "0", "max": "1000000"},
    "decimal": {"precision": 18, "scale": 4},
    "currency": {"defaultCurrency": "EUR", "min": "0"},
    "percent": {"precision": 5, "scale": 2},
    "rating": {"max": 5},
}


def wide_snapshot(modules: int, fields: int) -> Snapshot:
    """``modules`` modules of ``fields`` custom fields each (``name`` included)."""
    unknown = set(FIELD_MIX) - set(FIELD_TYPES)
    if unknown:
        raise RuntimeError(f"the field mix names unknown types: {sorted(unknown)}")
    ids = count(1)
    names = [f"Bench{m:02d}" for m in range(modules)]
    found = {}
    for m, name in enumerate(names):
        custom = [_field(next(ids), name, names, m, i) for i in range(fields)]
        found[name] = ModuleDef(
            id=m + 1,
            name=name,
            plural=f"{name}s",
            label=f"Bench {m}",
            plural_label=f"Bench {m}s",
            table=f"x_bench_{m:02d}",
            fields=(*builtin_fields(name, numbered=m % 2 == 0), *custom),
            label_field="name",
            record_prefix=f"B{m:02d}" if m % 2 == 0 else None,
            description=f"Synthetic module {m} of {modules}.",
            blocks=tuple(BlockDef(b, label, n) for n, (b, label) in enumerate(BLOCKS)),
        )
    return Snapshot(version=1, modules=found)


def _field(field_id: int, module: str, names: list[str], m: int, i: int) -> FieldDef:
    """Custom field ``i`` of module ``m``: ``name`` first, then the mix in turn."""
    if i == 0:
        return FieldDef(
            field_id,
            module,
            "name",
            "Name",
            "text",
            "x_name",
            required=True,
            options={"maxLength": 255},
            block="overview",
            position=1,
        )
    type_key = FIELD_MIX[(i - 1) % len(FIELD_MIX)]
    name = f"{type_key}{i:03d}"
    column = f"x_{type_key}_{i:03d}" + ("_id" if type_key == "reference" else "")
    picklist = {"picklist": PICKLIST, "multipicklist": MULTIPICKLIST}.get(type_key, ())
    return FieldDef(
        id=field_id,
        module=module,
        name=name,
        label=f"{type_key.capitalize()} {i}",
        type_key=type_key,
        column=column,
        required=i % 10 == 0,
        unique=type_key == "text" and i % 25 == 1,
        help_text=f"Help for {name}." if i % 3 == 0 else None,
        options=_reference_options(module, names, m, i)
        if type_key == "reference"
        else dict(OPTIONS.get(type_key, {})),
        picklist=picklist,
        block=BLOCKS[i % len(BLOCKS)][0],
        position=i + 1,
    )


def _reference_options(module: str, names: list[str], m: int, i: int) -> dict[str, Any]:
    """The module's first reference may point anywhere; later ones at the next modules."""
    first = FIELD_MIX.index("reference") + 1
    if i == first:
        return {"targets": [ANY_MODULE]}
    target = names[(m + i) % len(names)]
    return {"targets": [target], "reverse": f"{module[0].lower()}{module[1:]}sVia{i:03d}"}
