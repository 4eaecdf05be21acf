"""The filter language: typed operators per field, ``and``/``or``/``not``, and relations.

A filter arrives as plain data (the GraphQL layer converts its input objects)::

    {"and": [...], "or": [...], "not": {...},
     "name": {"ilike": "%acme%"},                     # a field and its operators
     "annualRevenue": {"amount": {"gt": "1000"}},      # currency: amount / currency
     "accountId": {"eq": "…"},                         # a reference's id
     "account": {"industry": {"eq": "Banking"}},       # through a many-to-one
     "deals": {"some": {"stage": {"eq": "Closed Won"}}}}  # through a one-to-many

Relation filters become ``EXISTS`` subqueries, which PostgreSQL plans as
semi-joins; soft-deleted related records never match.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from defalto_gql.errors import BadUserInput
from defalto_gql.metadata.fieldtypes.base import unstorable
from defalto_gql.metadata.fieldtypes.reference import ReferenceType
from defalto_gql.metadata.model import FieldDef, ModuleDef

if TYPE_CHECKING:
    from defalto_gql.records.context import RecordContext

MAX_DEPTH = 8


def live(table: sa.Table) -> ColumnElement[bool]:
    return table.c.deleted_at.is_(None)


def build_filter(
    ctx: RecordContext, module: ModuleDef, table: sa.Table, spec: dict[str, Any] | None,
    depth: int = 0,
) -> ColumnElement[bool]:
    """One SQL condition for a filter on ``module`` (aliased as ``table``)."""
    if not spec:
        return sa.true()
    if depth > MAX_DEPTH:
        raise BadUserInput("the filter nests too deeply", field="filter")
    parts = [_part(ctx, module, table, key, value, depth) for key, value in spec.items()
             if value is not None]
    return sa.and_(sa.true(), *parts)


def _part(
    ctx: RecordContext, module: ModuleDef, table: sa.Table, key: str, value: Any, depth: int
) -> ColumnElement[bool]:
    match key:
        case "and":
            return sa.and_(sa.true(), *(build_filter(ctx, module, table, v, depth + 1)
                                       for v in value))
        case "or":
            return sa.or_(sa.false(), *(build_filter(ctx, module, table, v, depth + 1)
                                       for v in value))
        case "not":
            # IS NOT TRUE, not NOT: a row where the inner condition is unknown (an
            # empty value) does not satisfy it, so "not" keeps it, as neq does.
            return build_filter(ctx, module, table, value, depth + 1).is_not(sa.true())
    ctx.rights.check_readable(module.name, key)
    f = module.fields_by_name.get(key)
    if f is not None:
        if f.type_key == "reference":
            return _through_reference(ctx, f, table, value, depth)
        return _operators(f, table, value)
    if key.endswith("Id") and _reference(module, key[:-2]):
        return _operators(_reference(module, key[:-2]), table, value,  # type: ignore[arg-type]
                          name=key)
    if key.endswith("Module") and _reference(module, key[:-6]):
        ref = _reference(module, key[:-6])
        assert ref is not None
        return sa.and_(sa.true(), *(_clause(ref, table, "module" if op == "eq" else op, v)
                                    for op, v in value.items() if v is not None))
    return _through_list(ctx, module, table, key, value, depth)


def _reference(module: ModuleDef, name: str) -> FieldDef | None:
    f = module.fields_by_name.get(name)
    return f if f is not None and f.type_key == "reference" else None


TEMPORAL = ("date", "datetime", "time")


def _temporal(f: FieldDef, operand: Any) -> Any:
    if isinstance(operand, str):
        return f.type.parse_text(f, operand)
    if isinstance(operand, list):
        return [_temporal(f, item) for item in operand]
    return operand


def _clause(
    f: FieldDef, table: sa.Table, op: str, operand: Any, name: str | None = None
) -> ColumnElement[bool]:
    try:
        reason = unstorable(operand)
        if reason:
            # Text PostgreSQL cannot hold matches nothing and would fail in the driver.
            raise ValueError(reason)
        if f.type_key in TEMPORAL:
            # A filter written as JSON (CLI, export jobs) gives dates and times as text.
            operand = _temporal(f, operand)
        return f.type.filter_clause(f, table, op, operand)
    except ValueError as exc:
        # Named as the client wrote it: ``accountId`` rather than ``account``.
        raise BadUserInput(f"filter on {name or f.name}: {exc}", field=name or f.name) from None



def _operators(
    f: FieldDef, table: sa.Table, ops: dict[str, Any], name: str | None = None
) -> ColumnElement[bool]:
    clauses = []
    for op, operand in ops.items():
        if operand is None:
            continue
        if f.type_key == "currency":
            clauses += [_clause(f, table, f"{op}.{inner}", v)
                        for inner, v in operand.items() if v is not None]
        else:
            clauses.append(_clause(f, table, op, operand, name))
    return sa.and_(sa.true(), *clauses)


def _through_reference(
    ctx: RecordContext, f: FieldDef, table: sa.Table, spec: dict[str, Any], depth: int
) -> ColumnElement[bool]:
    """A many-to-one: the referenced record exists, is live and matches."""
    kind = f.type
    assert isinstance(kind, ReferenceType)
    if kind.is_polymorphic(f):
        raise BadUserInput(f"filter through {f.name} by {f.name}Id and {f.name}Module",
                           field=f.name)
    target = ctx.snapshot.module(f.targets[0])
    other = cast(sa.Table, ctx.tables.of(target.name).alias())
    inner = build_filter(ctx, target, other, spec, depth + 1)
    visible = ctx.rights.read_filter(target.name, other)
    return sa.exists().where(other.c.id == table.c[f.column], live(other), inner,
                             sa.true() if visible is None else visible)


def _through_list(
    ctx: RecordContext, module: ModuleDef, table: sa.Table, key: str, spec: dict[str, Any],
    depth: int,
) -> ColumnElement[bool]:
    """A one-to-many or many-to-many list: ``some`` / ``none`` related records match."""
    related = ctx.related_list(module.name, key)
    if related is None:
        raise BadUserInput(f"{module.name} has no field or list {key!r}", field=key)
    if related.reference is not None:
        # Matching through the reverse of a hidden reference would reveal its values.
        ctx.rights.check_readable(related.target, related.reference.name)
    clauses = []
    for quantifier, inner_spec in spec.items():
        if inner_spec is None:
            continue
        other = cast(sa.Table, ctx.tables.of(related.target).alias())
        inner = build_filter(ctx, ctx.snapshot.module(related.target), other, inner_spec,
                             depth + 1)
        visible = ctx.rights.read_filter(related.target, other)
        exists = sa.exists().where(related.join_condition(ctx, table, other), live(other),
                                   inner, sa.true() if visible is None else visible)
        clauses.append(exists if quantifier == "some" else sa.not_(exists))
    return sa.and_(sa.true(), *clauses)
