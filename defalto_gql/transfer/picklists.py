"""Picklist values an import may add, when its mapping allows it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine

from defalto_gql.metadata import picklists
from defalto_gql.metadata.model import ModuleDef
from defalto_gql.transfer.mapping import Mapping

if TYPE_CHECKING:
    from defalto_gql.transfer.importing import Row


def unknown_choices(module: ModuleDef, batch: Iterable[Row], mapping: Mapping,
                    planned: dict[str, set[str]]) -> dict[str, set[str]]:
    """Per extendable picklist field, the values of the batch it does not have yet.

    Values compare ignoring case, as picklist cells are read: a row spelling a
    value of the picklist, of an earlier run's batch or of an earlier row in
    another case takes that spelling (in its data), so ``Zeta``, ``zeta`` and
    ``ZETA`` add one value, the first written.
    """
    wanted: dict[str, set[str]] = {}
    for f in module.fields:
        if f.type_key not in ("picklist", "multipicklist") or not mapping.extends(f.name):
            continue
        known = set(f.picklist) | planned.get(f.name, set())
        spelled = {value.casefold(): value for value in sorted(known, reverse=True)}
        spelled.update({value.casefold(): value for value in f.picklist})
        for row in batch:
            items = _items(row.data.get(f.name))
            for value in items:
                if isinstance(value, str) and value and value.casefold() not in spelled \
                        and not row.problems:
                    spelled[value.casefold()] = value
                    wanted.setdefault(f.name, set()).add(value)
            if items:
                row.data[f.name] = _respelled(row.data[f.name], spelled)
    return wanted


def _respelled(value: Any, spelled: dict[str, str]) -> Any:
    """A cell's value(s) in the spelling first met, without repeats."""
    if isinstance(value, list):
        return list(dict.fromkeys(_respelled(item, spelled) for item in value))
    return spelled.get(value.casefold(), value) if isinstance(value, str) else value


# The longest picklist value (metadata.admin refuses longer ones).
MAX_CHOICE = 255


def unusable_choice(value: str) -> str | None:
    """Why ``value`` cannot be added to a picklist, or None when it can."""
    if len(value) > MAX_CHOICE:
        return (f"cannot be added to the picklist: it has more than {MAX_CHOICE} characters "
                f"({len(value)})")
    if not value.strip():
        return "cannot be added to the picklist: it is blank"
    return None


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


async def add_picklist_values(engine: AsyncEngine, module: str,
                              wanted: dict[str, set[str]]) -> None:
    """Add the values, in one metadata change (the schema follows like any other change)."""
    async with engine.begin() as conn:
        for name, values in wanted.items():
            await picklists.add_values(conn, module, name, sorted(values))
