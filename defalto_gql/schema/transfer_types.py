"""The GraphQL types of import and export jobs and saved mappings, and their conversion."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import strawberry
from strawberry.scalars import JSON

from defalto_gql.transfer import jobs


@strawberry.type(description="One reason a row was not imported.")
class ImportProblem:
    line: int = strawberry.field(description="The row's first line in the file.")
    column: str | None = strawberry.field(description="The column at fault, if one is.")
    reason: str = strawberry.field(description="What is wrong.")


@strawberry.type(description="What an import did: every row is created, updated, merged, "
                             "skipped, rejected or blank.")
class ImportResult:
    rows: int = strawberry.field(description="Rows read.")
    created: int
    updated: int
    merged: int = strawberry.field(description="Duplicates whose empty fields were filled.")
    skipped: int = strawberry.field(description="Rows skipped as duplicates.")
    rejected: int
    blank: int = strawberry.field(description="Rows whose cells are all empty (nothing to "
                                              "import).")
    unmatched: int = strawberry.field(
        description="Created rows that had no value in a match field (a second import "
                    "creates them again).")
    unchanged: int = strawberry.field(
        description="Updated rows that held the record's values already (nothing written, "
                    "no new version).")
    detected: int = strawberry.field(description="Duplicates found by similarity (detect).")
    conflicted: int = strawberry.field(
        description="Merged rows with a value that differs from the record's (kept).")
    problemCount: int = strawberry.field(description="Problems found (a row can have several).")
    problems: list[ImportProblem] = strawberry.field(
        description="The first 1,000 problems; the rejects file holds every rejected row.")
    details: JSON = strawberry.field(
        description="The whole report: mapped and ignored columns, extended picklists, "
                    "reference targets created, duplicates found.")


@strawberry.type(description="An import or export, queued, running or done.")
class TransferJob:
    id: strawberry.ID
    kind: str = strawberry.field(description="import or export.")
    module: str
    status: str = strawberry.field(description="queued, running, finished or failed.")
    fileName: str
    rowsDone: int = strawberry.field(description="Rows read (import) or written (export).")
    bytesDone: int
    bytesTotal: int | None = strawberry.field(description="The file's size, when known.")
    error: str | None = strawberry.field(description="Why the job failed as a whole.")
    createdAt: dt.datetime
    startedAt: dt.datetime | None
    finishedAt: dt.datetime | None
    result: ImportResult | None = strawberry.field(description="An import's report, once done.")
    fileUrl: str | None = strawberry.field(
        description="A finished export's CSV: GET it with the Authorization header.")
    rejectsUrl: str | None = strawberry.field(
        description="The rejected rows as CSV, with line and reason columns, when there are "
                    "any: GET it with the Authorization header.")
    duplicatesUrl: str | None = strawberry.field(
        description="Every duplicate found (line, record, score, action, fields filled or "
                    "in conflict) as CSV, when there are any.")


@strawberry.type(description="Import mapping rules saved under a name, for one module.")
class ImportMapping:
    id: strawberry.ID
    module: str
    name: str
    rules: JSON = strawberry.field(description="columns, values, references, extendPicklists.")
    updatedAt: dt.datetime


@strawberry.input(description="How to read an uploaded file and what to do with duplicates.")
class ImportJobInput:
    mapping: JSON | None = strawberry.field(default=None, description="Mapping rules.")
    mappingName: str | None = strawberry.field(default=None,
                                               description="A saved mapping's name.")
    match: list[str] | None = strawberry.field(
        default=None, description="Fields that identify a duplicate (email, name ...).")
    onDuplicate: str = strawberry.field(
        default="skip", description="skip, update (the row's values win) or merge (empty "
                                    "fields of the record are filled; its values are kept).")
    detect: list[str] | None = strawberry.field(
        default=None, description="Fields compared by similarity to find duplicates with "
                                  "typos (names, street, birthday ...).")
    detectBlock: list[str] | None = strawberry.field(
        default=None, description="Fields whose equal value makes a record a candidate "
                                  "(default: the detect fields).")
    detectThreshold: float | None = strawberry.field(
        default=None, description="Similarity from which a candidate is a duplicate, above 0 "
                                  "and at most 1 (default 0.8).")
    dryRun: bool = strawberry.field(default=False, description="Report only; write nothing.")
    encoding: str | None = strawberry.field(
        default=None, description="utf-8 (default, with or without BOM) or e.g. cp1252.")
    delimiter: str | None = strawberry.field(
        default=None, description="',', ';' or 'tab'; found from the header when not given.")
    dayFirst: bool = strawberry.field(default=False,
                                      description="Read 01/02/2023 as 1 February.")


def job_view(row: Any, generated_url: str = "/transfers") -> TransferJob:
    report = jobs.decode(row["report"]) if row["report"] is not None else None
    result = None
    if row["kind"] == "import" and report is not None:
        result = ImportResult(
            rows=report["rows"], created=report["created"], updated=report["updated"],
            merged=report.get("merged", 0), skipped=report["skipped"],
            rejected=report["rejected"], detected=report.get("detected", 0),
            blank=report.get("blank", 0), unmatched=report.get("unmatched", 0),
            unchanged=report.get("unchanged", 0),
            conflicted=report.get("conflicted", 0),
            problemCount=report["problemCount"],
            problems=[ImportProblem(line=p["line"], column=p["column"], reason=p["reason"])
                      for p in report["problems"]],
            details=report)
    done = row["status"] == "finished"
    base = f"{generated_url}/{row['id']}"
    return TransferJob(
        id=strawberry.ID(row["id"]), kind=row["kind"], module=row["module"],
        status=row["status"], fileName=row["file_name"], rowsDone=row["rows_done"],
        bytesDone=row["bytes_done"], bytesTotal=row["bytes_total"], error=row["error"],
        createdAt=row["created_at"], startedAt=row["started_at"],
        finishedAt=row["finished_at"], result=result,
        fileUrl=f"{base}/export" if done and row["kind"] == "export" else None,
        rejectsUrl=f"{base}/rejects" if done and report and report.get("rejected") else None,
        duplicatesUrl=f"{base}/duplicates" if done and report and report.get("duplicates")
        else None,
    )


def mapping_view(row: Any) -> ImportMapping:
    rules = row["rules"]
    return ImportMapping(id=strawberry.ID(row["id"]), module=row["module"], name=row["name"],
                         rules=json.loads(rules) if isinstance(rules, str) else rules,
                         updatedAt=row["updated_at"])
