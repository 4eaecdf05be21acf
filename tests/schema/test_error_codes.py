"""Error codes for what graphql-core refuses while executing, and masking of the unexpected."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from graphql import GraphQLError

from defalto_gql.schema.context import RequestContext
from tests.conftest import Api

# A nullable variable may stand for a non-null argument (or input field) with a default;
# a null sent for it is refused only while executing.
NULL_FOR_A_DEFAULT = [
    ('mutation($v: Boolean) { startExport(module: "Lead", bom: $v) { id } }', "bom"),
    ("query($v: Int) { transferJobs(first: $v) { id } }", "first"),
    ("query($v: Boolean) { transferJobs(everyone: $v) { id } }", "everyone"),
    # Generated from metadata, for every module
    ("query($v: Boolean) { accounts(includeDeleted: $v) { totalCount } }", "includeDeleted"),
    ("query($v: Boolean) { leads(includeDeleted: $v) { totalCount } }", "includeDeleted"),
    ('mutation($v: Boolean) { convertField(module: "Account", name: "industry", '
     'type: "text", dryRun: $v) { field } }', "dryRun"),
    # An input object's field
    ('mutation($v: Boolean) { createUser(data: {email: "null@example.com", name: "N", '
     'password: "long enough 1", isAdmin: $v}) { id } }', "isAdmin"),
]


@pytest.mark.parametrize(("query", "field"), NULL_FOR_A_DEFAULT)
async def test_a_null_for_a_non_null_argument_with_a_default_is_bad_user_input(
    api: Api, caplog: pytest.LogCaptureFixture, query: str, field: str
) -> None:
    # Given a request that sends null for an argument that may be left out, never null
    caplog.set_level(logging.DEBUG)
    caplog.clear()

    # When it runs
    response = await api.raw(query, {"v": None})

    # Then the client is told which argument, and nothing is logged as a failure
    assert response.status_code == 200
    errors: list[dict[str, Any]] = response.json()["errors"]
    assert [error["extensions"] for error in errors] == [
        {"code": "BAD_USER_INPUT", "field": field}]
    assert "$v" in errors[0]["message"]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []


async def test_leaving_such_an_argument_out_takes_its_default(api: Api) -> None:
    data = await api.query("query($v: Boolean) { accounts(includeDeleted: $v) { totalCount } }")

    assert data["accounts"]["totalCount"] == 0


class Refusing:
    """Stands in for the records context; using it raises graphql-core's own error type."""

    def __getattr__(self, name: str) -> Any:
        raise GraphQLError(f"secret internals: {name} of a record at /srv/defalto")


async def test_an_unexpected_graphql_error_is_masked_and_logged(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a failure that is not the client's, raised as a GraphQLError
    monkeypatch.setattr(api.runtime, "context", lambda generation, request=None, policy=None:
                        RequestContext(records=Refusing(), request=request))  # type: ignore[arg-type]

    # When a query meets it
    response = await api.raw("{ accounts { totalCount } }")

    # Then the client gets no details, and the log gets them at ERROR
    assert response.json()["errors"][0]["message"] == "Internal server error"
    assert response.json()["errors"][0]["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert "secret" not in response.text
    assert any("secret internals" in str(r.exc_info) for r in caplog.records
               if r.levelname == "ERROR")
