"""GraphQL over HTTP, through the in-process app: methods, media types, status codes, errors.

The rules come from the GraphQL-over-HTTP specification: a request that is not
well formed gets 400 (415 for a body that is not JSON, 405 for a mutation over
GET); a well-formed request that cannot be executed gets 200 with ``errors``
and no ``data`` under ``application/json``, and 400 under
``application/graphql-response+json``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from defalto_gql.schema.context import RequestContext
from tests.conftest import Api

GRAPHQL_RESPONSE = "application/graphql-response+json"
LIST_NAMES = "{ accounts(orderBy: [{name: AscNullsLast}]) { edges { node { name } } } }"
CREATE = "mutation($name: String) { createAccount(data: {name: $name}) { id name version } }"


async def post(api: Api, body: bytes | str, content_type: str = "application/json",
               accept: str = "application/json") -> httpx.Response:
    return await api.client.post("/graphql", content=body,
                                 headers={"content-type": content_type, "accept": accept})


async def get(api: Api, accept: str = "application/json", **params: str) -> httpx.Response:
    return await api.client.get("/graphql", params=params, headers={"accept": accept})


def assert_codes(body: dict[str, Any]) -> None:
    assert body["errors"], body
    for error in body["errors"]:
        assert error["message"], error
        assert isinstance(error["extensions"]["code"], str), error


# POST and GET


async def test_post_json_runs_a_query_and_a_mutation(api: Api) -> None:
    created = await api.raw(CREATE, {"name": "Acme"})
    assert created.status_code == 200
    assert created.headers["content-type"].startswith("application/json")
    assert created.json()["data"]["createAccount"]["name"] == "Acme"

    listed = await api.raw(LIST_NAMES)

    assert listed.json() == {"data": {"accounts": {"edges": [{"node": {"name": "Acme"}}]}}}


async def test_post_accepts_a_charset_and_an_operation_name(api: Api) -> None:
    body = json.dumps({
        "query": "query A { accounts { totalCount } } query B { products { totalCount } }",
        "operationName": "B",
    })

    response = await post(api, body, content_type="application/json; charset=utf-8")

    assert response.status_code == 200
    assert response.json() == {"data": {"products": {"totalCount": 0}}}


async def test_get_runs_a_query_from_the_query_string(api: Api) -> None:
    await api.query(CREATE, {"name": "Globex"})

    response = await get(
        api,
        query="query($n: String) { accounts(filter: {name: {eq: $n}}) { totalCount } }",
        variables=json.dumps({"n": "Globex"}),
    )

    assert response.status_code == 200
    assert response.json() == {"data": {"accounts": {"totalCount": 1}}}


async def test_get_of_a_mutation_is_refused_with_405_and_does_nothing(api: Api) -> None:
    response = await get(api, query='mutation { createAccount(data: {name: "Via GET"}) { id } }')

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert_codes(response.json())
    assert (await api.query("{ accounts { totalCount } }"))["accounts"]["totalCount"] == 0


async def test_get_picks_the_named_operation_to_decide_if_it_mutates(api: Api) -> None:
    query = "query Q { accounts { totalCount } } mutation M { deleteAccount(id: \"x\") { id } }"

    assert (await get(api, query=query, operationName="Q")).status_code == 200
    assert (await get(api, query=query, operationName="M")).status_code == 405


# Requests that are not well formed


@pytest.mark.parametrize("accept", ["application/json", GRAPHQL_RESPONSE])
@pytest.mark.parametrize("body", ['{"query": ', "[1, 2]", b"\xff\xfe",
                                  # nested past what Python's JSON reader follows
                                  '{"query": "{ __typename }", "variables": {"v": ' + "[" * 5000
                                  + "]" * 5000 + "}}",
                                  # a number past Python's 4,300 digits
                                  '{"query": "{ __typename }", "variables": {"v": ' + "9" * 5000
                                  + "}}"])
async def test_a_body_that_is_not_a_json_object_gets_400(api: Api, body: str | bytes,
                                                         accept: str) -> None:
    response = await post(api, body, accept=accept)

    assert response.status_code == 400
    assert response.headers["content-type"].startswith(accept)
    assert_codes(response.json())
    assert "data" not in response.json()


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
async def test_a_body_that_is_not_json_gets_415(api: Api, content_type: str) -> None:
    response = await post(api, '{"query": "{ accounts { totalCount } }"}', content_type)

    assert response.status_code == 415
    assert_codes(response.json())


@pytest.mark.parametrize("body", [{}, {"query": ""}, {"query": 42}, {"variables": {}}])
async def test_a_request_without_a_query_gets_400(api: Api, body: dict[str, Any]) -> None:
    response = await post(api, json.dumps(body))

    assert response.status_code == 400
    assert_codes(response.json())


async def test_a_get_without_a_query_gets_400(api: Api) -> None:
    response = await get(api)

    assert response.status_code == 400
    assert_codes(response.json())


@pytest.mark.parametrize("variables", ['"a string"', "[1]", "{not json"])
async def test_variables_that_are_not_an_object_get_400(api: Api, variables: str) -> None:
    post_body = f'{{"query": "{{ accounts {{ totalCount }} }}", "variables": {variables}}}'

    posted = await post(api, post_body)
    got = await get(api, query="{ accounts { totalCount } }", variables=variables)

    if variables != "{not json":  # not JSON at all: the POST body itself is malformed
        assert posted.json()["errors"][0]["message"] == "variables must be a JSON object"
    assert posted.status_code == 400
    assert got.status_code == 400
    assert_codes(got.json())


# Well-formed requests that cannot be executed

NOT_EXECUTABLE = [
    pytest.param("{ accounts { totalCount ", None, None, "GRAPHQL_PARSE_FAILED",
                 id="syntax-error"),
    pytest.param("{ accounts { noSuchField } }", None, None, "GRAPHQL_VALIDATION_FAILED",
                 id="unknown-field"),
    pytest.param("query($n: Int) { accounts { totalCount } }", None, None,
                 "GRAPHQL_VALIDATION_FAILED", id="unused-variable"),
    pytest.param("query($n: Int) { accounts(first: $n) { totalCount } }", {"n": "ten"}, None,
                 "BAD_USER_INPUT", id="wrong-variable-type"),
    pytest.param("query($n: Int!) { accounts(first: $n) { totalCount } }", {}, None,
                 "BAD_USER_INPUT", id="missing-variable"),
    pytest.param("query($d: DateTime) { accounts(filter: {createdAt: {gt: $d}}) { totalCount } }",
                 {"d": "yesterday"}, None, "BAD_USER_INPUT", id="bad-custom-scalar-variable"),
    pytest.param("query A { accounts { totalCount } }", None, "B",
                 "OPERATION_RESOLUTION_FAILURE", id="unknown-operation-name"),
    pytest.param("query A { accounts { totalCount } } query B { leads { totalCount } }", None,
                 None, "OPERATION_RESOLUTION_FAILURE", id="several-operations-no-name"),
    pytest.param("fragment F on Account { id }", None, None, "OPERATION_RESOLUTION_FAILURE",
                 id="no-operation"),
]


@pytest.mark.parametrize(("query", "variables", "name", "code"), NOT_EXECUTABLE)
async def test_under_application_json_it_is_200_with_errors_and_no_data(
    api: Api, query: str, variables: dict[str, Any] | None, name: str | None, code: str
) -> None:
    body = {"query": query, "variables": variables, "operationName": name}

    response = await post(api, json.dumps(body))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "data" not in response.json()
    assert_codes(response.json())
    assert response.json()["errors"][0]["extensions"]["code"] == code


@pytest.mark.parametrize(("query", "variables", "name", "code"), NOT_EXECUTABLE)
async def test_under_graphql_response_json_it_is_400(
    api: Api, query: str, variables: dict[str, Any] | None, name: str | None, code: str
) -> None:
    body = {"query": query, "variables": variables, "operationName": name}

    response = await post(api, json.dumps(body), accept=f"{GRAPHQL_RESPONSE}, application/json")

    assert response.status_code == 400
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert "data" not in response.json()
    assert response.json()["errors"][0]["extensions"]["code"] == code


async def test_a_bad_variable_value_is_explained_not_masked(api: Api) -> None:
    response = await api.raw("query($n: Int) { accounts(first: $n) { totalCount } }",
                             {"n": "ten"})

    message = response.json()["errors"][0]["message"]
    assert "$n" in message and "ten" in message


async def test_errors_point_at_the_place_in_the_query(api: Api) -> None:
    response = await api.raw("{\n  accounts { noSuchField }\n}")

    error = response.json()["errors"][0]
    assert "noSuchField" in error["message"]
    assert error["locations"] == [{"line": 2, "column": 14}]


# Errors raised while executing


async def test_an_execution_error_keeps_data_and_is_200_under_both_media_types(
    api: Api,
) -> None:
    query = 'mutation { updateAccount(id: "00000000-0000-0000-0000-000000000000", ' \
            'data: {name: "x"}) { id } }'

    for accept in ("application/json", GRAPHQL_RESPONSE):
        response = await post(api, json.dumps({"query": query}), accept=accept)

        assert response.status_code == 200
        body = response.json()
        assert "data" in body
        assert body["errors"][0]["path"] == ["updateAccount"]
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_bad_value_names_the_field_with_bad_user_input(api: Api) -> None:
    errors = await api.errors("mutation { createAccount(data: {employees: -5}) { id } }")

    assert_codes({"errors": errors})
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


class Exploding:
    """Stands in for the records context; any use of it is an unexpected failure."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"secret internals: {name} at /srv/defalto/records.py line 42")


async def test_an_internal_error_is_masked_and_logged(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The stand-in takes what the endpoint passes: the generation, the request, the policy.
    monkeypatch.setattr(api.runtime, "context", lambda generation, request=None, policy=None:
                        RequestContext(records=Exploding(), request=request))  # type: ignore[arg-type]

    response = await api.raw("{ accounts { totalCount } }")

    assert response.status_code == 200
    body = response.json()
    # Lists are nullable: the failure nulls only the list that failed.
    assert body["data"] == {"accounts": None}
    assert body["errors"] == [{
        "message": "Internal server error",
        "locations": [{"line": 1, "column": 3}],
        "path": ["accounts"],
        "extensions": {"code": "INTERNAL_SERVER_ERROR"},
    }]
    assert "secret" not in response.text and "Traceback" not in response.text
    assert any("secret internals" in str(r.exc_info) for r in caplog.records
               if r.levelname == "ERROR")


# The browser page and the health check


async def test_a_browser_gets_graphiql(api: Api) -> None:
    response = await api.client.get(
        "/graphql", headers={"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "<title>" in page and "graphiql" in page.lower()
    assert "GraphiQL.createFetcher" in page
    # The page is a template in some strawberry versions; nothing may be left unfilled.
    assert not re.search(r"\{\{.*?\}\}", page), re.findall(r"\{\{.*?\}\}", page)


async def test_a_browser_with_a_query_in_the_url_gets_json(api: Api) -> None:
    response = await get(api, accept="text/html, application/json;q=0.9",
                         query="{ accounts { totalCount } }")

    assert response.status_code == 200
    assert response.json() == {"data": {"accounts": {"totalCount": 0}}}


async def test_health_reports_the_database_and_schema(api: Api) -> None:
    response = await api.client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["metadataVersion"] == api.runtime.generation().version
    assert body["schemaBuildSeconds"] >= 0
    assert body["version"]
