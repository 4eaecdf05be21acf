"""File uploads over HTTP: the GraphQL multipart request specification, and job downloads.

A multipart request has an ``operations`` part (the usual JSON request with
``null`` where files go), a ``map`` part (``{"0": ["variables.file"]}``) and
one part per file. Files are spooled to disk by Starlette's parser, so an
upload never sits in memory whole; its size is limited by
``DEFALTO_MAX_UPLOAD_BYTES`` as it arrives.

Multipart bodies are "simple requests" that browsers send across sites without
asking first; that is harmless here because every request must carry an
``Authorization`` header, which no other site can make a browser send.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Message, Receive

from defalto_gql.access import tokens
from defalto_gql.errors import NotFound
from defalto_gql.transfer import jobs

MAX_FILES = 10


class UploadError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.status = message, status


def _limited(receive: Receive, limit: int) -> Receive:
    """``receive`` that refuses the body once it passes ``limit`` bytes."""
    seen = 0

    async def limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise UploadError(f"the upload is larger than {limit} bytes", 413)
        return message

    return limited


def _place(target: dict[str, Any], path: str, upload: UploadFile) -> None:
    """Put a file where ``path`` (``variables.input.files.0``) points; it must be null there."""
    keys = path.split(".")
    if keys[0] != "variables" or len(keys) < 2:
        raise UploadError(f"map paths start with variables., not {path!r}")
    node: Any = target
    try:
        for key in keys[:-1]:
            node = node[int(key)] if isinstance(node, list) else node.get(key)
            if node is None:
                raise UploadError(f"map path {path!r} names nothing in operations")
        last = keys[-1]
        if isinstance(node, list):
            index = int(last)
            if node[index] is not None:
                raise UploadError(f"map path {path!r} must point at a null")
            node[index] = upload
        else:
            if last not in node or node[last] is not None:
                raise UploadError(f"map path {path!r} must point at a null")
            node[last] = upload
    except (ValueError, IndexError, AttributeError, TypeError):
        raise UploadError(f"map path {path!r} names nothing in operations") from None


async def multipart_params(request: Request, limit: int) -> tuple[dict[str, Any], Any]:
    """The request's operations with files in place, and the form (to close after)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise UploadError(f"the upload is larger than {limit} bytes", 413)
    limited = Request(request.scope, _limited(request.receive, limit))
    try:
        form = await limited.form(max_files=MAX_FILES, max_fields=MAX_FILES + 2)
    except UploadError:
        raise
    except Exception as exc:  # the parser's own errors: a malformed body
        raise UploadError(f"the multipart body cannot be read: {exc}") from None
    try:
        operations = json.loads(str(form.get("operations") or ""))
        mapping = json.loads(str(form.get("map") or "{}"))
    except (ValueError, RecursionError):
        await form.close()
        raise UploadError("operations and map must be JSON, not nested too deeply (the "
                          "GraphQL multipart request specification)") from None
    if not isinstance(operations, dict) or not isinstance(mapping, dict):
        await form.close()
        raise UploadError("operations must be one JSON object (batches are not supported) "
                          "and map a JSON object")
    operations.setdefault("variables", {})
    try:
        for key, paths in mapping.items():
            upload = form.get(key)
            if not isinstance(upload, UploadFile):
                raise UploadError(f"map names a file part {key!r} the request does not have")
            if not isinstance(paths, list):
                raise UploadError("each map entry is a list of paths")
            for path in paths:
                _place(operations, str(path), upload)
    except UploadError:
        await form.close()
        raise
    return operations, form


FILE_NAMES = {"export": "export", "rejects": "rejected rows", "duplicates": "duplicates found"}


async def download(request: Request) -> Response:
    """GET /transfers/{id}/{export|rejects|duplicates}: a job's file, for its user or an
    administrator."""
    runtime = request.app.state.runtime
    kind = request.path_params["kind"]
    job_id = request.path_params["job_id"]
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    async with runtime.engine.connect() as conn:
        found = await tokens.resolve(conn, secret.strip()) \
            if scheme.lower() == "bearer" and secret.strip() else None
        if found is None:
            return JSONResponse({"error": "send Authorization: Bearer <token>"}, 401,
                                headers={"WWW-Authenticate": "Bearer"})
        policy = await runtime.policy(found["user_id"], runtime.generation())
        try:
            row = await jobs.visible_job(conn, job_id, policy.user_id, policy.is_admin)
        except NotFound:
            row = None
        if row is None or kind not in FILE_NAMES or not await jobs.has_file(conn, row["id"],
                                                                             kind):
            return JSONResponse({"error": "there is no such file"}, 404)
    job_id = row["id"]
    name = row["file_name"] if kind == "export" else f"{kind}-{row['file_name']}"
    return StreamingResponse(
        jobs.file_chunks(runtime.engine, job_id, kind), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": attachment(name)})


def attachment(name: str) -> str:
    """A Content-Disposition naming the file: an ASCII name, and the real one (RFC 6266).

    Header values are Latin-1; a name such as ``Клиенты.csv`` goes in ``filename*``
    (UTF-8, percent-encoded) with ``_`` standing for its letters in ``filename``.
    """
    plain = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_"
                    for c in name) or "file.csv"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"
