"""GraphQL types describing the data model, for UIs and administrators."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import strawberry
from strawberry.scalars import JSON

from defalto_gql.metadata.model import FieldDef, ModuleDef
from defalto_gql.records.datamodel import DataModel
from defalto_gql.records.validation import input_name


@strawberry.type(name="Field", description="A field of a module, as a form or list needs it.")
class FieldInfo:
    name: str = strawberry.field(description="API name, as in queries and filters.")
    inputName: str = strawberry.field(description="Name in create/update inputs.")
    label: str = strawberry.field(description="What people see.")
    type: str = strawberry.field(description="Field type: text, picklist, currency ...")
    helpText: str | None = strawberry.field(description="Help shown beside the field.")
    required: bool = strawberry.field(description="A value must be given on create.")
    unique: bool = strawberry.field(description="No two live records share a value.")
    default: JSON | None = strawberry.field(description="Value used when a create omits it.")
    picklistValues: list[str] = strawberry.field(description="Allowed values, in order.")
    targets: list[str] = strawberry.field(description="Modules a reference may point at.")
    reverseName: str | None = strawberry.field(description="List this reference adds to "
                                                           "its target.")
    block: str | None = strawberry.field(description="Block (field group) it belongs to.")
    position: int = strawberry.field(description="Order within the module.")
    builtin: bool = strawberry.field(description="One of the common fields every module has.")
    writable: bool = strawberry.field(description="Clients may set it.")
    shipped: bool = strawberry.field(description="Defined by a standard module file.")
    options: JSON = strawberry.field(description="Type settings: maxLength, precision ...")


@strawberry.type(name="Block", description="A named group of fields, in order, for forms.")
class BlockInfo:
    name: str = strawberry.field(description="Block name.")
    label: str = strawberry.field(description="What people see.")
    position: int = strawberry.field(description="Order among the module's blocks.")


@strawberry.type(name="Relation", description="A many-to-many relation between two modules.")
class RelationInfo:
    name: str = strawberry.field(description="Relation name.")
    label: str = strawberry.field(description="What people see.")
    left: str = strawberry.field(description="One module.")
    right: str = strawberry.field(description="The other module.")
    leftName: str = strawberry.field(description="List on the left module.")
    rightName: str = strawberry.field(description="List on the right module.")


@strawberry.type(name="Module", description="A module: its names, fields, blocks, relations.")
class ModuleInfo:
    name: str = strawberry.field(description="Type name, such as Account.")
    plural: str = strawberry.field(description="Plural name, such as Accounts.")
    label: str = strawberry.field(description="What people see.")
    pluralLabel: str = strawberry.field(description="What people see, plural.")
    description: str | None = strawberry.field(description="What the module holds.")
    recordPrefix: str | None = strawberry.field(description="Record number prefix.")
    labelField: str = strawberry.field(description="Field that names a record.")
    listField: str = strawberry.field(description="Query field of the list.")
    singleField: str = strawberry.field(description="Query field of one record.")
    shipped: bool = strawberry.field(description="A standard module.")
    fields: list[FieldInfo] = strawberry.field(description="Fields, in order.")
    blocks: list[BlockInfo] = strawberry.field(description="Blocks, in order.")
    relations: list[RelationInfo] = strawberry.field(description="Many-to-many relations.")


@strawberry.type(description="The outcome of a metadata change.")
class MetadataChange:
    version: int = strawberry.field(description="The metadata version after the change.")
    message: str = strawberry.field(description="What was done.")


@strawberry.type(description="A stored value that does not convert.")
class ConversionFailure:
    id: strawberry.ID = strawberry.field(description="Record id.")
    value: str = strawberry.field(description="The value, as text.")
    reason: str = strawberry.field(description="Why it does not convert.")


@strawberry.type(description="What converting a field's type does to its stored values.")
class ConversionReport:
    field: str = strawberry.field(description="The field.")
    fromType: str = strawberry.field(description="Type before.")
    toType: str = strawberry.field(description="Type after.")
    total: int = strawberry.field(description="Records holding a value.")
    convertible: int = strawberry.field(description="Values that convert.")
    failing: int = strawberry.field(description="Values that do not.")
    failures: list[ConversionFailure] = strawberry.field(description="Up to 50 failures.")
    picklistValues: list[str] = strawberry.field(description="Values of the new picklist.")
    applied: bool = strawberry.field(description="False for a dry run.")


@strawberry.type(description="What removing a picklist value does to records holding it.")
class PicklistRemoval:
    value: str = strawberry.field(description="The value removed.")
    records: int = strawberry.field(description="Records holding it.")
    action: str = strawberry.field(description="What happens to them.")
    applied: bool = strawberry.field(description="False for a dry run.")


@strawberry.input(description="A new module.")
class ModuleInput:
    label: str = strawberry.field(description="What people see, such as 'Sales order'.")
    name: str | None = strawberry.field(default=None, description="Type name; derived from "
                                                                  "the label when omitted.")
    pluralLabel: str | None = strawberry.field(default=None, description="Plural label.")
    plural: str | None = strawberry.field(default=None, description="Plural type name.")
    description: str | None = strawberry.field(default=None, description="What it holds.")
    recordPrefix: str | None = strawberry.field(default=None, description="Give records "
                                                "numbers such as SO-1001.")
    labelFieldLabel: str = strawberry.field(default="Name", description="Label of the text "
                                            "field that names a record.")


@strawberry.input(description="Changes to a module's labels.")
class ModuleChangeInput:
    label: str | None = strawberry.field(default=None, description="New label.")
    pluralLabel: str | None = strawberry.field(default=None, description="New plural label.")
    description: str | None = strawberry.field(default=None, description="New description.")
    labelField: str | None = strawberry.field(default=None, description="Field naming records.")


@strawberry.input(description="A new field.")
class FieldInput:
    label: str = strawberry.field(description="What people see.")
    type: str = strawberry.field(description="Field type: text, integer, picklist, reference ...")
    name: str | None = strawberry.field(default=None, description="API name; derived from the "
                                                                  "label when omitted.")
    helpText: str | None = strawberry.field(default=None, description="Help text.")
    required: bool = strawberry.field(default=False, description="Must be given on create.")
    unique: bool = strawberry.field(default=False, description="No two records share it.")
    default: JSON | None = strawberry.field(default=None, description="Default value; "
                                            "existing records get it too.")
    values: list[str] | None = strawberry.field(default=None, description="Picklist values.")
    targets: list[str] | None = strawberry.field(default=None, description="Reference targets "
                                                 "(module names, or * for any).")
    reverseName: str | None = strawberry.field(default=None, description="List on the target.")
    maxLength: int | None = strawberry.field(default=None, description="Text length limit.")
    precision: int | None = strawberry.field(default=None, description="Total digits.")
    scale: int | None = strawberry.field(default=None, description="Digits after the point.")
    min: Decimal | None = strawberry.field(default=None, description="Smallest number allowed.")
    max: Decimal | None = strawberry.field(default=None, description="Largest number allowed.")
    block: str | None = strawberry.field(default=None, description="Block to place it in.")
    position: int | None = strawberry.field(default=None, description="Order in the module.")


@strawberry.input(description="Changes to a field; stored values always stay.")
class FieldChangeInput:
    name: str | None = strawberry.field(default=None, description="New API name.")
    label: str | None = strawberry.field(default=None, description="New label.")
    helpText: str | None = strawberry.field(default=None, description="New help text.")
    required: bool | None = strawberry.field(default=None, description="Required on create.")
    unique: bool | None = strawberry.field(default=None, description="Unique among records.")
    default: JSON | None = strawberry.field(default=None, description="New default value.")
    maxLength: int | None = strawberry.field(default=None, description="Text length limit.")
    min: Decimal | None = strawberry.field(default=None, description="Smallest number.")
    max: Decimal | None = strawberry.field(default=None, description="Largest number.")
    reverseName: str | None = strawberry.field(default=None, description="List on the target.")
    block: str | None = strawberry.field(default=None, description="Block to move it to.")
    position: int | None = strawberry.field(default=None, description="Order in the module.")


@strawberry.input(description="A new many-to-many relation.")
class RelationInput:
    left: str = strawberry.field(description="One module.")
    right: str = strawberry.field(description="The other module.")
    leftName: str = strawberry.field(description="List name on the left module.")
    rightName: str = strawberry.field(description="List name on the right module.")
    label: str | None = strawberry.field(default=None, description="What people see.")
    name: str | None = strawberry.field(default=None, description="Relation name.")


def field_info(f: FieldDef) -> dict[str, Any]:
    return {
        "name": f.name, "inputName": input_name(f), "label": f.label, "type": f.type_key,
        "helpText": f.help_text, "required": f.required, "unique": f.unique,
        "default": f.default, "picklistValues": list(f.picklist), "targets": list(f.targets),
        "reverseName": f.reverse_name, "block": f.block, "position": f.position,
        "builtin": f.builtin, "writable": f.writable, "shipped": f.shipped,
        "options": f.options,
    }


def module_info(model: DataModel, m: ModuleDef) -> dict[str, Any]:
    relations = [
        {"name": r.name, "label": r.label, "left": r.left, "right": r.right,
         "leftName": r.left_name, "rightName": r.right_name}
        for r in model.snapshot.relations_of(m.name)
    ]
    return {
        "name": m.name, "plural": m.plural, "label": m.label, "pluralLabel": m.plural_label,
        "description": m.description, "recordPrefix": m.record_prefix,
        "labelField": m.label_field, "listField": m.api_list, "singleField": m.api_single,
        "shipped": m.shipped, "fields": [field_info(f) for f in m.fields],
        "blocks": [{"name": b.name, "label": b.label, "position": b.position} for b in m.blocks],
        "relations": relations,
    }
