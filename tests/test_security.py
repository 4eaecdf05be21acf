"""Signing in and the security limits, through the in-process app.

Nothing but ``/health``, the GraphiQL page and a mutation that only calls
``login`` answers without a token. Tokens expire, are revoked by ``logout``,
and are stored only as hashes, as are API keys. Failed sign-ins are throttled
per account and per client address. Requests are bounded in depth, aliases,
tokens, page size and body size; introspection and CORS follow the settings.

Failed sign-ins count per client address for every test sharing the database,
so each client here comes from an address of its own (never 127.0.0.1, from
which the other tests sign in).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import itertools
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from defalto_gql.app import create_app
from tests.conftest import Api, settings_for_tests, sign_in

LOGIN = ("mutation($e: String!, $p: String!) { login(email: $e, password: $p) "
         "{ token expiresAt user { email } } }")
PASSWORD = "security-password-7"
COUNT = "{ accounts { totalCount } }"
ALLOWED_ORIGIN = "https://crm.example.com"
STRICT = {"max_depth": 4, "max_aliases": 2, "max_tokens": 60, "max_body_bytes": 2000,
          "max_upload_bytes": 5000,
          "introspection": False, "cors_origins": (ALLOWED_ORIGIN,),
          "login_failures_per_account": 3, "login_failures_per_address": 4}

_hosts = itertools.count(1)


def new_address() -> str:
    """An address no other client used (TEST-NET-2, then TEST-NET-3)."""
    number = next(_hosts)
    return f"198.51.100.{number}" if number < 255 else f"203.0.113.{number - 254}"


@contextlib.asynccontextmanager
async def running(database_url: str, **changes: Any) -> AsyncIterator[Starlette]:
    app = create_app(settings_for_tests(**changes), database_url=database_url)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="module")
async def default_app(database_url: str) -> AsyncIterator[Starlette]:
    """The shipped defaults, except the relaxed alias and token limits of the tests."""
    async with running(database_url) as app:
        yield app


@pytest.fixture(scope="module")
async def strict_app(database_url: str) -> AsyncIterator[Starlette]:
    """Low limits, introspection off, one CORS origin."""
    async with running(database_url, **STRICT) as app:
        yield app


@contextlib.asynccontextmanager
async def client(app: Starlette, token: str | None = None,
                 address: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """A client from an address of its own, sending ``token`` when given."""
    transport = httpx.ASGITransport(app=app, client=(address or new_address(), 50000))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(transport=transport, base_url="http://test",
                                 headers=headers) as found:
        yield found


async def post(http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None,
               **headers: str) -> httpx.Response:
    return await http.post("/graphql", json={"query": query, "variables": variables},
                           headers=headers)


async def login(http: httpx.AsyncClient, email: str, password: str) -> dict[str, Any]:
    response = await post(http, LOGIN, {"e": email, "p": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def new_user(api: Api) -> str:
    """A user of their own for a test (failed sign-ins count per account); returns the email."""
    email = f"person.{uuid.uuid4().hex[:8]}@security.test"
    await api.query("mutation($d: UserInput!) { createUser(data: $d) { id } }",
                    {"d": {"email": email, "name": "Pat Person", "password": PASSWORD}})
    return email


async def session(app: Starlette, email: str) -> str:
    async with client(app) as http:
        body = await login(http, email, PASSWORD)
    assert "errors" not in body, body
    token: str = body["data"]["login"]["token"]
    return token


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert "data" not in body
    assert codes(body) == ["UNAUTHENTICATED"]


# Without a token


@pytest.mark.parametrize("query", [
    COUNT,
    "{ __typename }",
    "{ __schema { queryType { name } } }",
    'mutation { createAccount(data: {name: "Sneaky"}) { id } }',
    # Signing in and anything else in one request is not signing in.
    'mutation { login(email: "a@b.org", password: "x") { token } '
    'createAccount(data: {name: "Sneaky"}) { id } }',
    'mutation { ...Sneak } fragment Sneak on Mutation { createAccount(data: {name: "S"}) { id } }',
    "mutation { logout }",
])
async def test_no_token_is_unauthenticated(default_app: Starlette, query: str) -> None:
    async with client(default_app) as http:
        response = await post(http, query)

    assert_unauthenticated(response)


async def test_no_token_over_get_is_unauthenticated(default_app: Starlette) -> None:
    async with client(default_app) as http:
        response = await http.get("/graphql", params={"query": COUNT})

    assert_unauthenticated(response)


@pytest.mark.parametrize("authorization", [
    "Bearer dgs_not-a-real-token",
    "Bearer " + "x" * 5000,
    "Bearer dgk_\u00e9\u00e8",
    "Basic YWRtaW46cGFzc3dvcmQ=",
    "Bearer",
    "dgs_token-without-a-scheme",
])
async def test_a_bad_token_is_unauthenticated(default_app: Starlette, authorization: str
                                              ) -> None:
    async with client(default_app) as http:
        # As bytes: httpx sends them as they are, non-ASCII included.
        response = await http.post("/graphql", json={"query": COUNT},
                                   headers={b"Authorization": authorization.encode()})

    assert_unauthenticated(response)


async def test_health_and_the_graphiql_page_are_open(default_app: Starlette) -> None:
    async with client(default_app) as http:
        health = await http.get("/health")
        page = await http.get("/graphql", headers={"accept": "text/html"})

    assert health.status_code == 200 and health.json()["status"] == "ok"
    # The page is static; everything it sends needs a token like any other request.
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


# Signing in and out


async def test_login_returns_a_token_that_works_until_logout(api: Api,
                                                            default_app: Starlette) -> None:
    email = await new_user(api)
    async with client(default_app) as http:
        signed_in = await login(http, email, PASSWORD)
    token = signed_in["data"]["login"]["token"]

    async with client(default_app, token) as http:
        me = (await post(http, "{ me { email } }")).json()
        logout = (await post(http, "mutation { logout }")).json()
        after = await post(http, "{ me { email } }")

    assert signed_in["data"]["login"]["user"] == {"email": email}
    assert token.startswith("dgs_")
    assert me == {"data": {"me": {"email": email}}}
    assert logout == {"data": {"logout": True}}
    assert_unauthenticated(after)


async def test_a_token_expires_after_the_configured_hours(api: Api, database_url: str) -> None:
    email = await new_user(api)
    async with running(database_url, token_ttl_hours=0.5) as app:
        async with client(app) as http:
            answer = (await login(http, email, PASSWORD))["data"]["login"]
        async with client(app, answer["token"]) as http:
            fresh = await post(http, "{ me { email } }")
            digest = hashlib.sha256(answer["token"].encode()).hexdigest()
            async with api.engine.begin() as conn:
                await conn.exec_driver_sql(
                    "UPDATE dg_tokens SET expires_at = now() - interval '1 second' "
                    "WHERE token_hash = $1", (digest,))
            expired = await post(http, "{ me { email } }")
    lasts = dt.datetime.fromisoformat(answer["expiresAt"]) - dt.datetime.now(dt.UTC)

    assert fresh.status_code == 200
    assert dt.timedelta(minutes=29) < lasts <= dt.timedelta(minutes=30)
    assert_unauthenticated(expired)


async def test_a_wrong_password_or_unknown_email_is_unauthenticated_alike(
    api: Api, default_app: Starlette
) -> None:
    email = await new_user(api)
    async with client(default_app) as http:
        wrong = await login(http, email, "not-the-password")
        unknown = await login(http, "nobody@security.test", PASSWORD)

    assert wrong["data"] is None and codes(wrong) == ["UNAUTHENTICATED"]
    # The same answer either way: no way to tell which emails have accounts.
    assert wrong["errors"][0]["message"] == unknown["errors"][0]["message"]
    assert codes(unknown) == ["UNAUTHENTICATED"]


async def test_failed_logins_are_throttled_per_account(api: Api, strict_app: Starlette) -> None:
    email = await new_user(api)
    failures = STRICT["login_failures_per_account"]
    assert isinstance(failures, int)

    # Each attempt from another address, so only the account's count can stop them.
    for _attempt in range(failures):
        async with client(strict_app) as http:
            assert codes(await login(http, email, "wrong password!")) == ["UNAUTHENTICATED"]
    async with client(strict_app) as http:
        refused = await login(http, email, PASSWORD)

    assert codes(refused) == ["TOO_MANY_REQUESTS"]
    error = refused["errors"][0]
    assert "this account" in error["message"]
    assert 0 < error["extensions"]["retryAfter"] <= 15 * 60


async def test_failed_logins_are_throttled_per_address(api: Api, strict_app: Starlette) -> None:
    email = await new_user(api)
    address = new_address()
    failures = STRICT["login_failures_per_address"]
    assert isinstance(failures, int)

    # Each attempt for another email, so only the address's count can stop them.
    async with client(strict_app, address=address) as http:
        for attempt in range(failures):
            wrong = await login(http, f"guess{attempt}@security.test", "wrong password!")
            assert codes(wrong) == ["UNAUTHENTICATED"]
        refused = await login(http, email, PASSWORD)
    async with client(strict_app) as elsewhere:
        allowed = await login(elsewhere, email, PASSWORD)

    assert codes(refused) == ["TOO_MANY_REQUESTS"]
    assert "your address" in refused["errors"][0]["message"]
    assert refused["errors"][0]["extensions"]["retryAfter"] > 0
    assert "errors" not in allowed, allowed


async def test_a_successful_login_clears_the_accounts_failures(api: Api,
                                                              strict_app: Starlette) -> None:
    email = await new_user(api)
    failures = STRICT["login_failures_per_account"]
    assert isinstance(failures, int)

    for _round in range(2):
        for _attempt in range(failures - 1):
            async with client(strict_app) as http:
                await login(http, email, "wrong password!")
        async with client(strict_app) as http:
            signed_in = await login(http, email, PASSWORD)
        assert "errors" not in signed_in, signed_in


# API keys


async def test_an_api_key_is_shown_once_stored_hashed_and_revocable(
    api: Api, default_app: Starlette
) -> None:
    email = await new_user(api)
    token = await session(default_app, email)
    async with client(default_app, token) as http:
        created = (await post(http, 'mutation { createApiKey(name: "ETL") { id name key } }')
                   ).json()["data"]["createApiKey"]
    key = created["key"]

    async with client(default_app, key) as integration:
        works = (await post(integration, "{ me { email } }")).json()
    async with api.engine.connect() as conn:
        rows = [row for (row,) in await conn.exec_driver_sql("SELECT t::text FROM dg_tokens t")]
        stored = (await conn.exec_driver_sql(
            "SELECT kind, name, token_hash, expires_at FROM dg_tokens WHERE id = $1",
            (created["id"],))).one()
    async with client(default_app, token) as http:
        revoked = (await post(http, "mutation($id: ID!) { revokeApiKey(id: $id) }",
                              {"id": created["id"]})).json()
    async with client(default_app, key) as integration:
        after = await post(integration, "{ me { email } }")

    assert key.startswith("dgk_") and created["name"] == "ETL"
    assert works == {"data": {"me": {"email": email}}}
    # Neither the key nor the session token is stored; only their SHA-256 digests are.
    assert not [row for row in rows if key in row or token in row]
    assert tuple(stored) == ("api_key", "ETL", hashlib.sha256(key.encode()).hexdigest(), None)
    assert revoked == {"data": {"revokeApiKey": True}}
    assert_unauthenticated(after)


async def test_only_an_administrator_makes_keys_for_others_or_revokes_theirs(
    api: Api, default_app: Starlette
) -> None:
    owner, other = await new_user(api), await new_user(api)
    owner_key = (await api.query('mutation($u: String) { createApiKey(name: "For them", '
                                 'userEmail: $u) { id key } }', {"u": owner}))["createApiKey"]

    async with client(default_app, await session(default_app, other)) as http:
        for_owner = (await post(http, 'mutation($u: String) { createApiKey(name: "Mine now", '
                                      'userEmail: $u) { key } }', {"u": owner})).json()
        revoke = (await post(http, "mutation($id: ID!) { revokeApiKey(id: $id) }",
                             {"id": owner_key["id"]})).json()
    async with client(default_app, owner_key["key"]) as http:
        still = (await post(http, "{ me { email } }")).json()

    assert codes(for_owner) == ["FORBIDDEN"]
    assert revoke == {"data": {"revokeApiKey": False}}
    assert still == {"data": {"me": {"email": owner}}}


# Limits on what a request may ask


async def admin_token(app: Starlette) -> str:
    from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

    async with client(app) as http:
        body = await login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
    token: str = body["data"]["login"]["token"]
    return token


@pytest.mark.parametrize(("query", "words"), [
    # Depth 5: accounts > edges > node > contacts > edges (the limit is 4).
    ("{ accounts { edges { node { contacts { edges { node { id } } } } } } }", "depth"),
    ('mutation { a: createAccount(data: {name: "A"}) { id } '
     'b: createAccount(data: {name: "B"}) { id } c: createAccount(data: {name: "C"}) { id } }',
     "aliases"),
    ("{ accounts { totalCount " + "pageInfo { hasNextPage } " * 20 + "} }", "tokens"),
])
async def test_a_request_over_a_limit_is_refused_before_it_runs(
    api: Api, strict_app: Starlette, query: str, words: str
) -> None:
    async with client(strict_app, await admin_token(strict_app)) as http:
        response = await post(http, query)
        body = response.json()
        count = (await post(http, COUNT)).json()

    assert response.status_code == 200
    assert "data" not in body, body
    assert codes(body) in (["GRAPHQL_VALIDATION_FAILED"], ["GRAPHQL_PARSE_FAILED"]), body
    assert words in body["errors"][0]["message"].lower(), body
    assert count == {"data": {"accounts": {"totalCount": 0}}}


async def test_a_megabyte_of_tokens_without_a_token_is_refused_at_once(database_url: str
                                                                      ) -> None:
    # Just under the body limit: about 500,000 tokens, which take seconds and hundreds
    # of megabytes to parse in full; the parse must stop at the token limit.
    flood = "{ " + "a " * 524_000 + "}"
    async with running(database_url, max_tokens=5000) as app, client(app) as http:
        started = time.perf_counter()
        response = await post(http, flood)
        took = time.perf_counter() - started

    assert_unauthenticated(response)
    assert took < 3, f"{took:.1f} s"


async def test_a_page_over_the_maximum_size_is_bad_user_input(api: Api) -> None:
    largest = api.runtime.settings.max_page_size

    fits = await api.raw("query($n: Int) { accounts(first: $n) { totalCount } }", {"n": largest})
    errors = await api.errors("query($n: Int) { accounts(first: $n) { totalCount } }",
                              {"n": largest + 1})

    assert "errors" not in fits.json()
    assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"]
    assert str(largest) in errors[0]["message"]


async def test_a_body_over_the_limit_is_refused_with_413(strict_app: Starlette) -> None:
    padding = "#" + "x" * 3000 + "\n"
    big = f'{{"query": "{padding!s}{{ __typename }}"}}'.replace("\n", "\\n").encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 500):
            yield big[start:start + 500]

    async with client(strict_app) as http:
        declared = await http.post("/graphql", content=big,
                                   headers={"content-type": "application/json"})
        # Sent in chunks with no Content-Length: counted as it arrives.
        streamed = await http.post("/graphql", content=chunks(),
                                   headers={"content-type": "application/json"})

    for response in (declared, streamed):
        assert response.status_code == 413, response.text
        assert codes(response.json()) == ["BAD_REQUEST"]
        assert "2000 bytes" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("query", [
    "{ __schema { types { name } } }",
    '{ __type(name: "Account") { fields { name } } }',
])
async def test_introspection_can_be_switched_off(default_app: Starlette, strict_app: Starlette,
                                                 query: str) -> None:
    async with client(default_app, await admin_token(default_app)) as http:
        on = (await post(http, query)).json()
    async with client(strict_app, await admin_token(strict_app)) as http:
        off = (await post(http, query)).json()

    assert "errors" not in on and on["data"]
    # One error for each introspection field asked for.
    assert "data" not in off and set(codes(off)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert "introspection" in off["errors"][0]["message"].lower()


# CORS


def preflight(origin: str) -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"}


async def test_cors_allows_only_the_configured_origins(strict_app: Starlette) -> None:
    async with client(strict_app) as http:
        allowed = await http.options("/graphql", headers=preflight(ALLOWED_ORIGIN))
        other = await http.options("/graphql", headers=preflight("https://evil.example"))
        answer = await http.post("/graphql", json={"query": COUNT},
                                 headers={"Origin": ALLOWED_ORIGIN})
        foreign = await http.post("/graphql", json={"query": COUNT},
                                  headers={"Origin": "https://evil.example"})

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "POST" in allowed.headers["access-control-allow-methods"]
    allowed_headers = allowed.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed_headers and "content-type" in allowed_headers
    assert "access-control-allow-credentials" not in allowed.headers
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    # The real request still needs its token; the browser may read the answer.
    assert answer.status_code == 401
    assert answer.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "access-control-allow-origin" not in foreign.headers


async def test_without_cors_origins_no_origin_is_allowed(default_app: Starlette) -> None:
    async with client(default_app) as http:
        asked = await http.options("/graphql", headers=preflight(ALLOWED_ORIGIN))
        answer = await http.post("/graphql", json={"query": COUNT},
                                 headers={"Origin": ALLOWED_ORIGIN})

    assert "access-control-allow-origin" not in asked.headers
    assert "access-control-allow-origin" not in answer.headers


# Logs


async def test_sign_ins_are_logged_without_passwords_or_tokens(
    api: Api, default_app: Starlette, caplog: pytest.LogCaptureFixture
) -> None:
    email = await new_user(api)
    caplog.set_level(logging.DEBUG)
    caplog.clear()

    async with client(default_app) as http:
        failed = await login(http, email, "the-wrong-password-42")
        signed_in = await login(http, email, PASSWORD)
    token = signed_in["data"]["login"]["token"]
    async with client(default_app, token) as http:
        await post(http, COUNT)
        await post(http, "{ nonsense }")
        await post(http, 'mutation { createApiKey(name: "logged?") { key } }')
        await post(http, "mutation { logout }")
        await post(http, COUNT)

    assert codes(failed) == ["UNAUTHENTICATED"]
    messages = [record.getMessage() for record in caplog.records]
    assert "sign-in failed" in messages and "sign-in succeeded" in messages
    everything = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    for secret in (PASSWORD, "the-wrong-password-42", token, token[4:]):
        assert secret not in everything
    assert "dgk_" not in everything


async def test_values_in_refused_requests_are_not_logged(
    api: Api, default_app: Starlette, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.clear()

    # A password of digits sent unquoted is refused with a message that quotes it.
    async with client(default_app) as http:
        literal = await post(http, 'mutation { login(email: "a@b.org", password: 98765432101) '
                                   "{ token } }")
        variable = await post(http, "mutation($p: String!) { login(email: \"a@b.org\", "
                                    "password: $p) { token } }", {"p": 98765432102})
    made = await api.raw("mutation($d: UserInput!) { createUser(data: $d) { id } }",
                         {"d": {"email": "not-an-email", "name": "Q", "password": "9876543210x"}})

    assert codes(literal.json()) == ["GRAPHQL_VALIDATION_FAILED"]
    assert codes(variable.json()) == ["BAD_USER_INPUT"]
    assert codes(made.json()) == ["BAD_USER_INPUT"]
    everything = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert "987654321" not in everything and "not-an-email" not in everything
    assert "request refused before execution" in everything


async def test_a_user_changes_their_own_password_and_other_sessions_end(api: Api) -> None:
    email = f"changer{uuid.uuid4().hex[:6]}@test.defalto.local"
    await api.query('mutation($e: String!) { createUser(data: {email: $e, name: "C", '
                    'password: "first-password"}) { id } }', {"e": email})
    first = {"Authorization": f"Bearer {await sign_in(api.client, email, 'first-password')}"}
    second = {"Authorization": f"Bearer {await sign_in(api.client, email, 'first-password')}"}
    change = ('mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, '
              "newPassword: $n) }")
    wrong = (await api.raw(change, {"c": "not-the-password", "n": "second-password"},
                           **first)).json()
    assert wrong["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    done = (await api.raw(change, {"c": "first-password", "n": "second-password"},
                          **first)).json()
    assert done["data"] == {"changePassword": True}
    assert (await api.raw("{ me { email } }", None, **first)).status_code == 200
    assert (await api.raw("{ me { email } }", None, **second)).status_code == 401
    assert await sign_in(api.client, email, "second-password")


async def test_an_upload_over_the_limit_is_refused_with_413_and_starts_no_job(
    strict_app: Starlette
) -> None:
    operations = json.dumps({"query": "mutation($f: Upload!) { startImport(module: "
                                      "\"Account\", file: $f) { id } }",
                             "variables": {"f": None}})
    big = b"Account name\n" + b"Initech\n" * 1000
    async with client(strict_app, await admin_token(strict_app)) as http:
        response = await http.post("/graphql", files={"0": ("a.csv", big, "text/csv")},
                                   data={"operations": operations, "map": '{"0": ["variables.f"]}'})
        jobs = (await post(http, "{ transferJobs { id } }")).json()

    assert response.status_code == 413, response.text
    assert codes(response.json()) == ["BAD_REQUEST"]
    assert "5000 bytes" in response.json()["errors"][0]["message"]
    assert jobs["data"]["transferJobs"] == []
