"""Mapping files: the documented shape is read, anything else is a MappingError naming it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from defalto_gql.transfer.mapping import Mapping, MappingError


def test_every_documented_rule_is_read() -> None:
    mapping = Mapping.from_dict({
        "columns": {"deal_stage": "stage", "engage_date": None},
        "values": {"stage": {"Won": "Closed Won"}},
        "references": {"account": {"create": True}, "owner": {"create": False}},
        "extendPicklists": ["stage"],
        "join": {"mailingStreet": {"columns": ["number", "street"], "separator": " "}},
        "detect": {"fields": ["firstName"], "block": ["birthday"], "threshold": 1},
    })

    assert mapping.create_references == {"account"}
    assert mapping.joins == {"mailingStreet": (("number", "street"), " ")}
    assert (mapping.detect, mapping.detect_block, mapping.detect_threshold) == (
        ("firstName",), ("birthday",), 1.0)
    assert Mapping.from_dict({"extendPicklists": True}).extends("stage")
    assert not Mapping.from_dict({"extendPicklists": False}).extends("stage")


@pytest.mark.parametrize(("rules", "message"), [
    ({"unknownKey": 1}, "unknown mapping keys ['unknownKey'] in the mapping"),
    ({"columns": ["a"]}, 'columns must be {"CSV header": "field name" or null}, not ["a"]'),
    ({"columns": {"a": 5}}, "columns.a must be a field name or null, not 5"),
    ({"references": {"account": True}}, 'references.account must be {"create": true}'),
    ({"references": {"account": {"create": "yes"}}}, "references.account.create must be"),
    ({"references": {"account": {"craete": True}}}, "unknown mapping keys ['craete']"),
    ({"extendPicklists": "yes"}, 'extendPicklists must be true or a list of field names, '
                                 'not "yes"'),
    ({"extendPicklists": [1]}, "extendPicklists must be true or a list"),
    ({"join": {"mailingStreet": "a"}}, 'join.mailingStreet must be {"columns"'),
    ({"join": {"mailingStreet": {"columns": []}}}, "with at least one column"),
    ({"join": {"mailingStreet": {"columns": "ab"}}}, "join.mailingStreet.columns must be a "
                                                     "list of field names"),
    ({"detect": ["lastName"]}, 'detect must be {"fields"'),
    ({"detect": {"fields": ["lastName"], "threshold": "high"}},
     'detect.threshold must be a number above 0 and at most 1, not "high"'),
    ({"detect": {"fields": "lastName"}}, "detect.fields must be a list of field names"),
    ({"detect": {"feilds": ["lastName"]}}, "unknown mapping keys ['feilds'] in detect"),
    ([1, 2], "mapping rules must be one JSON object"),
])
def test_a_wrong_key_or_shape_is_a_mapping_error_naming_it(rules: Any, message: str) -> None:
    with pytest.raises(MappingError, match=re.escape(message)):
        Mapping.from_dict(rules)


def test_column_names_in_a_mapping_lose_stray_spaces_as_headers_do() -> None:
    found = Mapping.from_dict({"columns": {" Surname ": "lastName"},
                               "join": {"mailingStreet": {"columns": [" No ", "Street"]}}})

    assert found.columns == {"Surname": "lastName"}
    assert found.joins["mailingStreet"][0] == ("No", "Street")
    with pytest.raises(MappingError, match="names 'Surname' twice"):
        Mapping.from_dict({"columns": {"Surname": "lastName", "Surname ": None}})
