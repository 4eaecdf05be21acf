"""GraphQL over HTTP: the /graphql endpoint, following the GraphQL-over-HTTP specification.

- POST with ``application/json``; GET with query parameters (queries only);
  POST with ``multipart/form-data`` to upload files (``uploads.py``).
- A request that cannot be executed (malformed JSON, no query, a syntax or
  validation error, bad variables) gets status 400 when the client accepts
  ``application/graphql-response+json``, and 200 with ``errors`` under plain
  ``application/json``, as the specification asks.
- Every error carries ``extensions.code``; unexpected errors are masked.
- Every request carries ``Authorization: Bearer <token>`` (a session token from
  ``login`` or an API key), except a mutation that only signs in; without one
  the answer is 401 with an UNAUTHENTICATED error.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from typing import Any

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from strawberry.http.ides import get_graphql_ide_html

from defalto_gql.access import tokens
from defalto_gql.access.policy import AccessPolicy
from defalto_gql.errors import Unauthenticated
from defalto_gql.runtime import Generation, Runtime
from defalto_gql.schema.error_codes import error_code, is_unexpected
from defalto_gql.uploads import UploadError, multipart_params

# Who an unauthenticated request (one that only signs in) acts as: nobody, with no rights.
ANONYMOUS_USER_ID = "00000000-0000-0000-0000-000000000000"

logger = logging.getLogger(__name__)

GRAPHQL_RESPONSE = "application/graphql-response+json"


# Python's JSON reader gives up (RecursionError) near a thousand levels; no request needs
# a tenth of that.
TOO_DEEP = "the request's JSON nests too deeply"


class RequestError(Exception):
    """A request that is not a GraphQL request at all."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.status = message, status


def format_error(error: GraphQLError) -> dict[str, Any]:
    found: dict[str, Any] = {"message": error.message}
    if is_unexpected(error):
        found["message"] = "Internal server error"
    if error.locations:
        found["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        found["path"] = error.path
    found["extensions"] = {**(error.extensions or {}), **error_code(error)}
    return found


def _media_type(request: Request) -> str:
    accept = request.headers.get("accept", "")
    return GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in accept else "application/json"


def _respond(body: dict[str, Any], status: int, media_type: str) -> Response:
    return JSONResponse(body, status_code=status, media_type=media_type)


async def _body(request: Request) -> bytes:
    """The request body, refused (413) once it passes the configured limit."""
    limit = request.app.state.runtime.settings.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestError(f"the request body is larger than {limit} bytes", 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(f"the request body is larger than {limit} bytes", 413)
        chunks.append(chunk)
    return b"".join(chunks)


ANONYMOUS_FIELDS = {"login", "__typename"}


def _anonymous_allowed(chosen: OperationDefinitionNode | None) -> bool:
    """Only signing in is open without a token."""
    if chosen is None or chosen.operation != OperationType.MUTATION:
        return False
    selections = chosen.selection_set.selections
    return all(isinstance(s, FieldNode) and s.name.value in ANONYMOUS_FIELDS
               for s in selections)


async def _authenticate(
    runtime: Runtime, generation: Generation, request: Request,
    chosen: OperationDefinitionNode | None,
) -> AccessPolicy:
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    if not secret.strip():
        if _anonymous_allowed(chosen):
            return AccessPolicy(user_id=ANONYMOUS_USER_ID, is_admin=False)
        raise Unauthenticated("sign in first (mutation login), then send "
                              "Authorization: Bearer <token>")
    if scheme.lower() != "bearer":
        raise Unauthenticated("send the token as Authorization: Bearer <token>")
    async with runtime.engine.connect() as conn:
        found = await tokens.resolve(conn, secret.strip())
    if found is None:
        raise Unauthenticated("the token is unknown, expired or revoked")
    request.state.token_id = found["token_id"]
    return await runtime.policy(found["user_id"], generation)


async def _params(request: Request) -> dict[str, Any]:
    if request.method == "GET":
        params: dict[str, Any] = dict(request.query_params)
        if "variables" in params:
            try:
                params["variables"] = json.loads(params["variables"])
            except ValueError:
                # Not JSON, or a number of more than 4,300 digits (Python's limit).
                raise RequestError("variables is not valid JSON") from None
            except RecursionError:
                raise RequestError(TOO_DEEP) from None
        return params
    content_type = _content_type(request)
    if content_type == "multipart/form-data":
        limit = request.app.state.runtime.settings.max_upload_bytes
        try:
            operations, request.state.form = await multipart_params(request, limit)
        except UploadError as problem:
            raise RequestError(problem.message, problem.status) from None
        return operations
    if content_type != "application/json":
        raise RequestError("send a JSON body with Content-Type: application/json "
                           "(or multipart/form-data to upload files)", 415)
    try:
        body = json.loads(await _body(request))
    except ValueError:
        # Not JSON, not UTF-8, or a number of more than 4,300 digits (Python's limit).
        raise RequestError("the request body is not valid JSON") from None
    except RecursionError:
        raise RequestError(TOO_DEEP) from None
    if not isinstance(body, dict):
        raise RequestError("the request body must be a JSON object")
    return body


def _check(params: dict[str, Any]) -> tuple[str, dict[str, Any] | None, str | None]:
    query, variables = params.get("query"), params.get("variables")
    operation = params.get("operationName")
    if not isinstance(query, str) or not query.strip():
        raise RequestError("the request has no query string")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError("variables must be a JSON object")
    if operation is not None and not isinstance(operation, str):
        raise RequestError("operationName must be a string")
    return query, variables, operation


class OperationError(Exception):
    """A document that parses but names no single operation to run (a request error)."""


# Documents are parsed once per distinct text (bounded), as the schema's parser cache does.
_parse = lru_cache(maxsize=256)(parse)


def _operation(query: str, name: str | None, max_tokens: int) -> OperationDefinitionNode | None:
    """The operation the request asks for; None when the document does not parse.

    strawberry raises instead of reporting when the operation cannot be found,
    and runs the first of several unnamed ones, so the choice is made here.
    This parse comes before the token is checked, so it stops at the token limit
    too: a megabyte of tokens takes seconds and hundreds of megabytes to parse.
    """
    try:
        document = _parse(query, max_tokens=max_tokens)
    except GraphQLError:
        return None  # execution reports the syntax error
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is not None:
        found = [d for d in operations if d.name and d.name.value == name]
        if not found:
            raise OperationError(f"the document has no operation named '{name}'")
        return found[0]
    if len(operations) != 1:
        raise OperationError("the document must hold exactly one operation, "
                             "or name the one to run in operationName")
    return operations[0]


def _not_executed(message: str, code: str, media_type: str) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return _respond(body, 400 if media_type == GRAPHQL_RESPONSE else 200, media_type)


def _unauthenticated(problem: Unauthenticated, media_type: str) -> Response:
    refusal = {"errors": [{"message": problem.message, "extensions": problem.extensions()}]}
    return JSONResponse(refusal, status_code=401, media_type=media_type,
                        headers={"WWW-Authenticate": "Bearer"})


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def graphql_endpoint(request: Request) -> Response:
    try:
        return await _graphql(request)
    finally:
        form = getattr(request.state, "form", None)
        if form is not None:
            await form.close()


async def _graphql(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    media_type = _media_type(request)
    wants_page = "text/html" in request.headers.get("accept", "")
    if request.method == "GET" and wants_page and "query" not in request.query_params:
        return HTMLResponse(get_graphql_ide_html("graphiql"))
    generation = runtime.generation()
    known: AccessPolicy | None = None
    if _content_type(request) == "multipart/form-data":
        # An upload is read only for a caller whose token is good: a stranger's body is
        # refused before it is spooled to disk. (Signing in needs no file.)
        try:
            known = await _authenticate(runtime, generation, request, None)
        except Unauthenticated as problem:
            return _unauthenticated(problem, media_type)
    try:
        query, variables, operation = _check(await _params(request))
        chosen = _operation(query, operation, runtime.settings.max_tokens)
        if request.method == "GET" and chosen and chosen.operation != OperationType.QUERY:
            raise RequestError("mutations need POST", 405)
    except RequestError as problem:
        refusal = {"errors": [{"message": problem.message,
                               "extensions": {"code": "BAD_REQUEST"}}]}
        headers = {"Allow": "POST"} if problem.status == 405 else None
        return JSONResponse(refusal, status_code=problem.status, media_type=media_type,
                            headers=headers)
    except OperationError as problem:
        return _not_executed(str(problem), "OPERATION_RESOLUTION_FAILURE", media_type)

    try:
        policy = known or await _authenticate(runtime, generation, request, chosen)
    except Unauthenticated as problem:
        return _unauthenticated(problem, media_type)
    result = await generation.schema.execute(
        query, variable_values=variables, operation_name=operation,
        context_value=runtime.context(generation, request, policy),
    )
    body: dict[str, Any] = {}
    not_executed = result.data is None and result.errors and all(
        e.path is None for e in result.errors
    )
    if not not_executed:
        body["data"] = result.data
    if result.errors:
        body["errors"] = [format_error(e) for e in result.errors]
    status = 400 if not_executed and media_type == GRAPHQL_RESPONSE else 200
    return _respond(body, status, media_type)
