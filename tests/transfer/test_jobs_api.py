"""Import and export through GraphQL: multipart uploads, jobs run by the queue, downloads."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from defalto_gql.transfer.locks import module_lock
from tests.conftest import Api, sign_in

JOB = ("id kind module status fileName rowsDone bytesDone bytesTotal error fileUrl rejectsUrl "
       "duplicatesUrl result { rows created updated merged skipped rejected blank unmatched "
       "detected "
       "conflicted problemCount "
       "problems { line column reason } details }")
START_IMPORT = ("mutation($m: String!, $f: Upload!, $o: ImportJobInput) { "
                f"startImport(module: $m, file: $f, options: $o) {{ {JOB} }} }}")
START_EXPORT = ("mutation($m: String!, $f: JSON, $fields: [String!], $bom: Boolean!) { "
                f"startExport(module: $m, filter: $f, fields: $fields, bom: $bom) {{ {JOB} }} }}")


async def upload(client: httpx.AsyncClient, text: str | bytes, *, module: str = "Contact",
                 options: dict[str, Any] | None = None, name: str = "people.csv"
                 ) -> dict[str, Any]:
    """POST a GraphQL multipart request that starts an import; returns the response body."""
    operations = {"query": START_IMPORT,
                  "variables": {"m": module, "f": None, "o": options}}
    content = text.encode() if isinstance(text, str) else text
    response = await client.post("/graphql", data={
        "operations": json.dumps(operations), "map": json.dumps({"0": ["variables.f"]})},
        files={"0": (name, content, "text/csv")})
    body: dict[str, Any] = response.json()
    return body


async def started(client: httpx.AsyncClient, text: str, **kwargs: Any) -> dict[str, Any]:
    body = await upload(client, text, **kwargs)
    assert "errors" not in body, body
    job: dict[str, Any] = body["data"]["startImport"]
    return job


async def finished(api: Api, job_id: str) -> dict[str, Any]:
    """Poll the job until it is finished or failed."""
    for _ in range(300):
        data = await api.query(f'{{ transferJob(id: "{job_id}") {{ {JOB} }} }}')
        job: dict[str, Any] = data["transferJob"]
        if job["status"] in ("finished", "failed"):
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish: {job}")


async def contacts(api: Api) -> list[tuple[str, str | None]]:
    data = await api.query("{ contacts(first: 100) { edges { node { lastName email } } } }")
    return sorted((e["node"]["lastName"], e["node"]["email"])
                  for e in data["contacts"]["edges"])


async def test_an_uploaded_file_is_imported_by_a_job_whose_result_can_be_queried(
    api: Api
) -> None:
    # Given a CSV with a line break inside a quoted value, uploaded as a multipart request
    text = 'First name,Last name,Email\r\nAda,Lovelace,ada@example.com\r\n' \
           '"Grace\nBrewster",Hopper,grace@example.com\r\n'

    # When the import is started and followed until it ends
    job = await started(api.client, text)
    assert job["status"] in ("queued", "running", "finished")
    assert job["kind"] == "import" and job["fileName"] == "people.csv"
    assert job["bytesTotal"] == len(text.encode())
    done = await finished(api, job["id"])

    # Then both rows are created and the job says so
    assert done["status"] == "finished", done
    assert done["result"]["rows"] == 2 and done["result"]["created"] == 2
    assert done["rowsDone"] == 2 and done["bytesDone"] == len(text.encode())
    assert done["rejectsUrl"] is None
    assert await contacts(api) == [("Hopper", "grace@example.com"),
                                   ("Lovelace", "ada@example.com")]
    # The uploaded file is not kept once the job has run
    async with api.engine.connect() as conn:
        kept = await conn.exec_driver_sql(
            "SELECT count(*) FROM dg_transfer_files WHERE job_id = $1", (done["id"],))
        assert kept.scalar() == 0


async def test_rejected_rows_download_as_csv_with_line_and_reason(api: Api) -> None:
    # Given a file with one good row and two bad ones
    text = "Last name,Email,Birthday\nGood,good@example.com,2001-02-03\n" \
           ",nobody@example.com,\nBad,not-an-email,2023-02-30\n"

    # When it is imported through the API
    done = await finished(api, (await started(api.client, text))["id"])

    # Then one row is created, two are rejected, and the rejects file names line and reason
    result = done["result"]
    assert (result["created"], result["rejected"]) == (1, 2)
    assert {(p["line"], p["column"]) for p in result["problems"]} >= {(3, "Last name"),
                                                                     (4, "Email")}
    response = await api.client.get(done["rejectsUrl"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["line"] for r in rows] == ["3", "4"]
    assert rows[1]["Email"] == "not-an-email" and "Email" in rows[1]["reason"]
    assert await contacts(api) == [("Good", "good@example.com")]


async def test_downloads_need_the_token_of_the_jobs_user_or_an_administrator(api: Api) -> None:
    done = await finished(api, (await started(api.client, "Last name\n\n,\n"))["id"])
    url = done["rejectsUrl"] or f"/transfers/{done['id']}/rejects"

    # Without a token the download is refused; with someone else's it does not exist
    async with httpx.AsyncClient(transport=api.client._transport,
                                 base_url="http://test") as anonymous:
        assert (await anonymous.get(url)).status_code == 401
    other = await _user_with(api, {"Contact": ["view", "create", "import", "export"]})
    assert (await other.client.get(url)).status_code in (404, 200)
    assert (await other.client.get(f"/transfers/{done['id']}/export")).status_code == 404
    assert (await other.client.get(f"/transfers/{uuid.uuid4()}/rejects")).status_code == 404
    errors = await other.errors(f'{{ transferJob(id: "{done["id"]}") {{ id }} }}')
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_dry_run_job_reports_and_writes_nothing(api: Api) -> None:
    text = "Last name,Email\nOne,one@example.com\nTwo,bad\n , \nNone,\n"
    done = await finished(api, (await started(api.client, text,
                                              options={"dryRun": True,
                                                       "match": ["email"]}))["id"])
    assert done["status"] == "finished"
    result = done["result"]
    assert (result["rows"], result["created"], result["rejected"]) == (4, 2, 1)
    assert (result["blank"], result["unmatched"]) == (1, 1)
    assert done["result"]["details"]["dryRun"] is True
    assert await contacts(api) == []


async def test_a_saved_mapping_is_listed_and_reused_by_name(api: Api) -> None:
    # Given a mapping saved under a name
    name = f"crm export {uuid.uuid4().hex[:6]}"
    rules = {"columns": {"Surname": "lastName", "Mail": "email", "Shoe": None},
             "values": {"lastName": {"X": "Xavier"}}}
    saved = await api.query(
        "mutation($n: String!, $r: JSON!) { saveImportMapping(module: \"contacts\", name: $n, "
        "rules: $r) { module name rules } }", {"n": name, "r": rules})
    assert saved["saveImportMapping"] == {"module": "Contact", "name": name, "rules": rules}
    listed = await api.query('{ importMappings(module: "Contact") { name rules } }')
    assert {"name": name, "rules": rules} in listed["importMappings"]

    # When two files of that shape are imported with it, the second with a match rule
    text = "Surname,Mail,Shoe\nX,x@example.com,42\n"
    for options in ({"mappingName": name}, {"mappingName": name, "match": ["email"]}):
        done = await finished(api, (await started(api.client, text, options=options))["id"])
        assert done["status"] == "finished", done

    # Then the rules applied and the second import found the first one's record
    assert done["result"]["skipped"] == 1
    assert await contacts(api) == [("Xavier", "x@example.com")]
    deleted = await api.query("mutation($n: String!) { deleteImportMapping(module: "
                              "\"Contact\", name: $n) }", {"n": name})
    assert deleted["deleteImportMapping"] is True


async def test_a_job_detects_duplicates_with_typos_and_merges_them(api: Api) -> None:
    # Given a contact on file, without a city
    await api.query('mutation { createContact(data: {firstName: "Deakin", '
                    'lastName: "Sondergeld", birthday: "1960-02-10"}) { id } }')

    # When a file holds the same person with a typo and a city, imported with detection
    text = "given_name, surname, date_of_birth, suburb\n" \
           "deakin, sondergeldt, 19600210, canterbury\nmitchell, green, 19560409, cleveland\n"
    options = {"mapping": {"columns": {"given_name": "firstName", "surname": "lastName",
                                       "date_of_birth": "birthday",
                                       "suburb": "mailingCity"}},
               "detect": ["firstName", "lastName", "birthday"], "detectBlock": ["birthday"],
               "detectThreshold": 0.8, "onDuplicate": "merge"}
    done = await finished(api, (await started(api.client, text, options=options))["id"])

    # Then the typo row is found and merged into the record, and the other one is created
    assert done["status"] == "finished", done
    result = done["result"]
    assert (result["created"], result["merged"], result["detected"]) == (1, 1, 1)
    (note,) = result["details"]["duplicates"]
    assert note["line"] == 2 and note["action"] == "merged" and note["score"] >= 0.8
    found = await api.query('{ contacts(filter: {birthday: {eq: "1960-02-10"}}) '
                            '{ edges { node { lastName mailingCity } } } }')
    assert [e["node"] for e in found["contacts"]["edges"]] == [
        {"lastName": "Sondergeld", "mailingCity": "canterbury"}]
    listed = await api.client.get(done["duplicatesUrl"])
    assert listed.status_code == 200
    assert "Sondergeld" in listed.text or "CON-" in listed.text


@pytest.mark.parametrize(("rules", "fragment"), [
    ({"columns": {"a": "noSuchField"}}, "no field"),
    ({"colums": {}}, "unknown mapping keys"),
    ({"values": {"lastName": "x"}}, "values.lastName must map cell texts to texts"),
    ({"references": {"account": True}}, 'references.account must be {"create": true}'),
    ({"detect": {"fields": ["lastName"], "threshold": "high"}}, "detect.threshold"),
    ({"extendPicklists": "yes"}, "extendPicklists"),
    ({"references": {"lastName": {"create": True}}}, "lastName is not a reference field"),
    ({"extendPicklists": ["email"]}, "email is not a picklist field"),
    ({"references": {"Account": {"create": True}}}, "give the field's name, not its label"),
    ([1, 2], "JSON object"),
])
async def test_bad_mapping_rules_are_refused_with_the_rules_field(
    api: Api, rules: Any, fragment: str
) -> None:
    errors = await api.errors("mutation($r: JSON!) { saveImportMapping(module: \"Contact\", "
                              "name: \"bad\", rules: $r) { name } }", {"r": rules})
    assert errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "rules"}
    assert fragment in errors[0]["message"]


@pytest.mark.parametrize(("options", "field"), [
    ({"onDuplicate": "explode"}, "onDuplicate"),
    ({"encoding": "klingon"}, "encoding"),
    ({"delimiter": "::"}, "delimiter"),
    ({"mapping": {}, "mappingName": "x"}, "mapping"),
    ({"mappingName": "never saved"}, "mappingName"),
    ({"match": ["shoeSize"]}, "match"),
    ({"detect": ["lastName"], "detectThreshold": 1.5}, "detectThreshold"),
    ({"detect": ["nope"]}, "detect"),
    ({"detectBlock": ["birthday"]}, "detectBlock"),
    ({"onDuplicate": "merge", "mapping": {"join": {"mailingStreet": "a"}}}, "mapping"),
    ({"mapping": {"detect": {"fields": ["lastName"], "threshold": 0}}}, "mapping"),
    ({"mapping": "x"}, "mapping"),
    ({"onDuplicate": "update"}, "options"),
])
async def test_bad_import_options_fail_the_request_and_start_no_job(
    api: Api, options: dict[str, Any], field: str
) -> None:
    before = await api.query("{ transferJobs(first: 200) { id } }")
    body = await upload(api.client, "Last name\nA\n", options=options)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["field"] == field
    after = await api.query("{ transferJobs(first: 200) { id } }")
    assert len(after["transferJobs"]) == len(before["transferJobs"])
    assert await contacts(api) == []


async def test_an_unknown_module_or_a_missing_right_starts_no_job(api: Api) -> None:
    body = await upload(api.client, "Name\nA\n", module="Spaceship")
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "module"}
    viewer = await _user_with(api, {"Contact": ["view", "create"]})
    body = await upload(viewer.client, "Last name\nA\n")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    errors = await viewer.errors('mutation { startExport(module: "Contact", bom: false) '
                                 '{ id } }')
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    assert (await viewer.query("{ transferJobs { id } }"))["transferJobs"] == []


@pytest.mark.parametrize(("form", "files", "fragment"), [
    ({"operations": "{not json", "map": "{}"}, {}, "JSON"),
    ({"operations": json.dumps({"query": START_IMPORT, "variables": {"m": "Contact",
                                                                      "f": "text"}}),
      "map": json.dumps({"0": ["variables.f"]})}, {"0": ("a.csv", b"x", "text/csv")},
     "must point at a null"),
    ({"operations": json.dumps({"query": START_IMPORT, "variables": {"m": "Contact",
                                                                      "f": None}}),
      "map": json.dumps({"1": ["variables.f"]})}, {"0": ("a.csv", b"x", "text/csv")},
     "does not have"),
    ({"operations": json.dumps({"query": START_IMPORT, "variables": {"m": "Contact",
                                                                      "f": None}}),
      "map": json.dumps({"0": ["query"]})}, {"0": ("a.csv", b"x", "text/csv")},
     "start with variables"),
    ({"operations": "[" * 5000 + "]" * 5000, "map": "{}"}, {}, "nested too deeply"),
])
async def test_malformed_multipart_requests_get_400(
    api: Api, form: dict[str, str], files: dict[str, Any], fragment: str
) -> None:
    response = await api.client.post("/graphql", data=form, files=files or {"x": ("x", b"")})
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert fragment in error["message"]


async def test_a_file_given_as_a_plain_variable_is_refused(api: Api) -> None:
    errors = await api.errors(START_IMPORT, {"m": "Contact", "f": "Last name\nA\n"})
    assert errors[0]["extensions"]["code"] in ("BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED")


async def test_an_export_job_honours_filter_fields_and_bom_and_reimports_exactly(
    api: Api
) -> None:
    # Given contacts, one with a phone that looks like a formula
    await api.query('mutation { a: createContact(data: {lastName: "Keep", '
                    'phone: "+1-532-344-1362", email: "keep@example.com"}) { id } '
                    'b: createContact(data: {lastName: "Drop", email: "drop@example.com"}) '
                    '{ id } }')

    # When an export of the filtered list with chosen fields and a BOM runs
    data = await api.query(START_EXPORT, {"m": "Contact", "f": {"lastName": {"eq": "Keep"}},
                                          "fields": ["lastName", "phone", "email"],
                                          "bom": True})
    done = await finished(api, data["startExport"]["id"])

    # Then the file holds only that contact, protected against formulas, behind a BOM
    assert done["status"] == "finished", done
    assert done["rowsDone"] == 1 and done["rejectsUrl"] is None
    response = await api.client.get(done["fileUrl"])
    assert response.status_code == 200
    raw = response.content
    assert raw.startswith("\ufeff".encode())
    assert raw.decode("utf-8-sig").splitlines() == [
        "Last name,Office phone,Email", "Keep,'+1-532-344-1362,keep@example.com"]

    # And importing that file again finds the same contact, unchanged
    again = await finished(api, (await started(api.client, raw.decode("utf-8-sig"),
                                               options={"match": ["email"],
                                                        "onDuplicate": "skip"}))["id"])
    assert again["result"]["skipped"] == 1
    phone = await api.query('{ contacts(filter: {lastName: {eq: "Keep"}}) '
                            '{ edges { node { phone } } } }')
    assert [e["node"]["phone"] for e in phone["contacts"]["edges"]] == ["+1-532-344-1362"]


@pytest.mark.parametrize(("variables", "field"), [
    ({"f": {"noSuchField": {"eq": 1}}}, None),
    ({"fields": ["noSuchField"]}, "fields"),
    ({"f": [1]}, "filter"),
])
async def test_a_bad_export_filter_or_field_fails_the_request(
    api: Api, variables: dict[str, Any], field: str | None
) -> None:
    errors = await api.errors(START_EXPORT, {"m": "Contact", "f": None, "fields": None,
                                             "bom": False, **variables})
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    if field:
        assert errors[0]["extensions"]["field"] == field


async def _user_with(api: Api, rights: dict[str, list[str]]) -> Api:
    """A new user whose only profile grants ``rights``, signed in on a client of their own."""
    user, _ = await _user_and_profile(api, rights)
    return user


async def _user_and_profile(api: Api, rights: dict[str, list[str]]) -> tuple[Api, str]:
    """As ``_user_with``, and the name of the user's profile."""
    suffix = uuid.uuid4().hex[:6]
    role, profile = f"Jobs role {suffix}", f"Jobs profile {suffix}"
    await api.query("mutation($r: String!, $p: String!) { createRole(name: $r) "
                    "createProfile(name: $p) }", {"r": role, "p": profile})
    for module, actions in rights.items():
        await api.query("mutation($p: String!, $m: String!, $a: [String!]!) { "
                        "setModuleRights(profile: $p, module: $m, actions: $a) }",
                        {"p": profile, "m": module, "a": actions})
    await api.query("mutation($r: String!, $p: [String!]!) { setRoleProfiles(role: $r, "
                    "profiles: $p) }", {"r": role, "p": [profile]})
    email, password = f"jobs.{suffix}@example.com", "jobs-password-1"
    await api.query("mutation($d: UserInput!) { createUser(data: $d) { id } }",
                    {"d": {"email": email, "name": "Jobs", "password": password,
                           "role": role}})
    client = httpx.AsyncClient(transport=api.client._transport, base_url="http://test")
    client.headers["Authorization"] = f"Bearer {await sign_in(client, email, password)}"
    return Api(client, api.runtime), profile


async def test_users_import_through_the_api_for_administrators_only(api: Api) -> None:
    # Given a team file without emails and a rule that derives placeholder addresses
    suffix = uuid.uuid4().hex[:6]
    text = f"sales_agent,manager,regional_office\nAnna Api{suffix},Dustin Boss{suffix},Central\n"
    rules = {"columns": {"sales_agent": "name", "regional_office": "office"},
             "deriveEmails": {"domain": "jobs.invalid"},
             "references": {"manager": {"create": True}}}

    # When an administrator uploads it as a User import
    done = await finished(api, (await started(api.client, text, module="users",
                                              options={"mapping": rules,
                                                       "match": ["email"]}))["id"])

    # Then the agent and their manager are users, and a limited user may not do the same
    assert done["status"] == "finished", done
    assert done["module"] == "User" and done["result"]["created"] == 1
    users = (await api.query("{ users { name office manager } }"))["users"]
    assert {"name": f"Anna Api{suffix}", "office": "Central",
            "manager": f"dustin.boss{suffix}@jobs.invalid"} in users
    viewer = await _user_with(api, {"Contact": ["view", "create", "import"]})
    body = await upload(viewer.client, text, module="User")
    assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN", "field": "module"}
    body = await upload(api.client, text, module="User", options={"match": ["phone"]})
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "match"}
    # and a file or mapping that cannot work is refused at once, starting no job
    body = await upload(api.client, "email\nx@jobs.invalid\n", module="User")
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "options"}
    assert "no column fills the user's name" in body["errors"][0]["message"]
    errors = await api.errors("mutation($r: JSON!) { saveImportMapping(module: \"User\", "
                              "name: \"admins\", rules: $r) { name } }",
                              {"r": {"columns": {"boss": "isAdmin"}}})
    assert errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "rules"}
    assert "never sets administrators" in errors[0]["message"]


async def test_a_saved_mapping_is_replaced_only_by_whoever_saved_it(api: Api) -> None:
    rights = {"Contact": ["view", "create", "import"]}
    east, west = await _user_with(api, rights), await _user_with(api, rights)
    save = ("mutation($n: String!, $r: JSON!) { saveImportMapping(module: \"Contact\", "
            "name: $n, rules: $r) { rules } }")
    name = f"shared {uuid.uuid4().hex[:6]}"
    await east.query(save, {"n": name, "r": {"columns": {"Surname": "lastName"}}})

    errors = await west.errors(save, {"n": name, "r": {"columns": {"Surname": None}}})
    deleted = await west.errors("mutation($n: String!) { deleteImportMapping(module: "
                                "\"Contact\", name: $n) }", {"n": f" {name} "})
    mine = await east.query('{ importMappings(module: "Contact") { name rules } }')

    assert errors[0]["extensions"] == {"code": "FORBIDDEN", "field": "name"}
    assert deleted[0]["extensions"] == {"code": "FORBIDDEN", "field": "name"}
    assert {"name": name, "rules": {"columns": {"Surname": "lastName"}}} in \
        mine["importMappings"]
    # Someone without the import right sees no mappings of that module
    outsider = await _user_with(api, {"Contact": ["view"]})
    listed = await outsider.query("{ importMappings { name } }")
    assert listed["importMappings"] == []
    refused = await outsider.errors('{ importMappings(module: "Contact") { name } }')
    assert refused[0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("options", [
    {"match": ["last\u0000Name"]}, {"mappingName": "a\u0000"},
    {"mapping": {"columns": {"a\u0000": None}}}, {"delimiter": "\u0000"},
    {"encoding": "undefined"}, {"encoding": "rot13"}, {"delimiter": '"'},
    {"mapping": {"values": {"doNotCall": {"yes": [1]}}}},
])
async def test_options_postgresql_cannot_store_or_a_job_cannot_use_are_refused(
    api: Api, options: dict[str, Any]
) -> None:
    body = await upload(api.client, "Last name\nA\n", options=options)
    assert body["data"] is None, body
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("path", ["variables.o.match.x.y", "variables.m.x.y",
                                  "variables.o.match.3.y", "variables.o.dryRun.x"])
async def test_map_paths_through_values_that_are_not_objects_get_400(
    api: Api, path: str
) -> None:
    operations = {"query": START_IMPORT, "variables": {
        "m": "Contact", "f": None, "o": {"match": [], "dryRun": True}}}
    response = await api.client.post("/graphql", data={
        "operations": json.dumps(operations), "map": json.dumps({"0": [path]})},
        files={"0": ("a.csv", b"Last name\nA\n", "text/csv")})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize(("variables", "field"), [
    ({"f": {"lastName": "x"}}, "filter"),
    ({"f": {"and": "x"}}, "filter"),
    ({"f": {"lastName": {"eq": 5}}}, "filter"),
    ({"f": {"birthday": {"eq": {"$date": "2020-13-45"}}}}, "filter"),
    ({"f": {"lastName": {"eq": "a\u0000"}}}, "filter"),
    ({"fields": ["lastName", "lastName"]}, "fields"),
    ({"fields": []}, "fields"),
])
async def test_export_filters_and_fields_that_cannot_run_fail_the_request(
    api: Api, variables: dict[str, Any], field: str
) -> None:
    errors = await api.errors(START_EXPORT, {"m": "Contact", "f": None, "fields": None,
                                             "bom": False, **variables})
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT", errors
    assert errors[0]["extensions"].get("field") in (field, None)


async def test_an_export_filter_on_a_date_runs(api: Api) -> None:
    await api.query('mutation { createContact(data: {lastName: "Dated", '
                    'birthday: "1990-05-06"}) { id } }')
    data = await api.query(START_EXPORT, {"m": "Contact", "fields": ["lastName"], "bom": False,
                                          "f": {"birthday": {"gte": "1990-01-01"}}})
    done = await finished(api, data["startExport"]["id"])
    assert done["status"] == "finished", done
    assert done["rowsDone"] == 1


@pytest.mark.parametrize("where", [
    {"createdAt": {"gt": "2023-01-01"}},
    {"createdAt": {"gt": "yesterday"}},
    {"lastName": {"startsWith": 5}},
    {"email": {"endsWith": "x"}},
    {"email": {"is": "NOTHING"}},
])
async def test_an_export_filter_is_refused_as_the_list_query_refuses_it(
    api: Api, where: dict[str, Any]
) -> None:
    listed = await api.errors("query($f: ContactFilter) { contacts(filter: $f) { totalCount } }",
                              {"f": where})
    exported = await api.errors(START_EXPORT, {"m": "Contact", "f": where, "fields": None,
                                               "bom": False})

    # The same code and words, the argument named as such rather than as a variable
    assert exported[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "filter"}
    assert listed[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert exported[0]["message"] == listed[0]["message"].replace("Variable '$f'", "filter")


async def test_an_export_job_reads_its_filter_as_the_list_query_does(api: Api) -> None:
    # Given contacts with and without an email, and a filter of a moment and of no value
    await api.query('mutation { createContacts(data: [{lastName: "A", email: "a@x.test"}, '
                    '{lastName: "B"}]) { id } }')
    where = {"createdAt": {"gt": "2000-01-01T00:00:00+01:00"}, "email": {"is": "NULL"}}

    data = await api.query(START_EXPORT, {"m": "Contact", "fields": ["lastName"], "bom": False,
                                          "f": where})
    done = await finished(api, data["startExport"]["id"])

    assert (done["status"], done["rowsDone"]) == ("finished", 1), done
    listed = await api.query("query($f: ContactFilter) { contacts(filter: $f) { edges { "
                             "node { lastName } } } }", {"f": where})
    assert [e["node"]["lastName"] for e in listed["contacts"]["edges"]] == ["B"]


async def test_job_ids_are_found_whatever_their_case_and_never_echoed_long(api: Api) -> None:
    done = await finished(api, (await started(api.client, "Last name\nA\n"))["id"])
    upper = await api.query(f'{{ transferJob(id: "{done["id"].upper()}") {{ id }} }}')
    assert upper["transferJob"]["id"] == done["id"]
    errors = await api.errors(f'{{ transferJob(id: "{"x" * 5000}") {{ id }} }}')
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"
    assert len(errors[0]["message"]) < 200


@pytest.mark.parametrize(("text", "options", "code", "field"), [
    ("last\u0000Name\nSmith\n", None, "BAD_USER_INPUT", "file"),
    ("lastName,ex\u0000tra\nNul,1\n", None, "BAD_USER_INPUT", "file"),
    ("", None, "BAD_USER_INPUT", "file"),
    ("Last name,Email\nA,a@example.com\n", {"match": ["phone"]}, "BAD_USER_INPUT", "options"),
    ("Last name,Created at\nA,2020-01-01\n", {"mapping": {"columns": {
        "Created at": "createdAt"}}}, "BAD_USER_INPUT", "options"),
])
async def test_a_file_the_job_could_not_start_on_fails_the_request(
    api: Api, text: str, options: dict[str, Any] | None, code: str, field: str
) -> None:
    before = await api.query("{ transferJobs(first: 200) { id } }")
    body = await upload(api.client, text, options=options)
    after = await api.query("{ transferJobs(first: 200) { id } }")
    assert body["data"] is None, body
    assert body["errors"][0]["extensions"] == {"code": code, "field": field}, body
    assert len(after["transferJobs"]) == len(before["transferJobs"])


async def test_a_column_mapped_to_a_field_the_user_may_not_write_fails_the_request(
    api: Api
) -> None:
    limited = await _user_with(api, {"Account": ["view", "create", "import"]})
    # annualRevenue is read-only for this user's profile
    name = (await limited.query("{ me { role } }"))["me"]["role"]
    profile = name.replace("Jobs role", "Jobs profile")
    await api.query('mutation($p: String!) { setFieldAccess(profile: $p, module: "Account", '
                    'field: "annualRevenue", access: "read_only") }', {"p": profile})
    text = "Account name,Annual revenue\nA,100 USD\n"
    body = await upload(limited.client, text, module="Account", options={
        "mapping": {"columns": {"Annual revenue": "annualRevenue"}}})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    # A column merely named like it (as the user's own export writes it) is left out
    job = await started(limited.client, text, module="Account")
    done = await finished(limited, job["id"])
    assert done["result"]["created"] == 1, done
    assert done["result"]["details"]["readOnlyColumns"] == ["Annual revenue"]


async def test_jobs_still_start_after_another_app_in_the_process_stopped(
    api: Api, database_url: str
) -> None:
    # Given a second app in this process (as tests, or an embedding, make) that has stopped
    from defalto_gql.app import create_app
    from tests.conftest import settings_for_tests

    other = create_app(settings_for_tests(), database_url=database_url)
    async with other.router.lifespan_context(other):
        pass

    # When the first app starts a job, it is queued on its own, still open, queue
    done = await finished(api, (await started(api.client, "Last name\nStill\n"))["id"])

    assert done["status"] == "finished", done
    assert done["result"]["created"] == 1


async def test_an_exact_duplicate_is_reported_with_the_records_number(api: Api) -> None:
    text = "Last name,Email\nTwice,twice@example.com\n"
    await finished(api, (await started(api.client, text))["id"])
    again = await finished(api, (await started(api.client, text,
                                               options={"match": ["email"]}))["id"])
    (note,) = again["result"]["details"]["duplicates"]
    assert note["action"] == "skipped" and note["score"] is None
    assert note["recordNumber"].startswith("CON-")


async def test_a_job_left_running_by_a_stopped_worker_is_failed_when_a_worker_starts(
    api: Api, database_url: str
) -> None:
    # Given a job that a worker took and then died with (no live worker holds it)
    from defalto_gql.app import create_app
    from tests.conftest import settings_for_tests

    done = await finished(api, (await started(api.client, "Last name\nGone\n"))["id"])
    async with api.engine.begin() as conn:
        await conn.exec_driver_sql("UPDATE dg_transfer_jobs SET status = 'running', "
                                   "finished_at = NULL WHERE id::text = $1", (done["id"],))

    # When another instance with a worker starts
    other = create_app(settings_for_tests(), database_url=database_url)
    async with other.router.lifespan_context(other):
        pass

    # Then the job says it was interrupted
    found = await finished(api, done["id"])
    assert found["status"] == "failed"
    assert "interrupted" in found["error"]


async def test_an_ended_job_is_deleted_with_its_files_by_its_user_only(api: Api) -> None:
    done = await finished(api, (await started(api.client, "Last name,Email\nA,bad\n"))["id"])
    assert done["rejectsUrl"]
    delete = "mutation($id: ID!) { deleteTransferJob(id: $id) }"
    other = await _user_with(api, {"Contact": ["view", "create", "import"]})

    refused = await other.errors(delete, {"id": done["id"]})
    deleted = await api.query(delete, {"id": done["id"]})
    again = await api.errors(delete, {"id": done["id"]})

    assert refused[0]["extensions"] == {"code": "NOT_FOUND", "field": "id"}
    assert deleted["deleteTransferJob"] is True
    assert again[0]["extensions"]["code"] == "NOT_FOUND"
    assert (await api.client.get(done["rejectsUrl"])).status_code == 404
    async with api.engine.connect() as conn:
        left = await conn.exec_driver_sql(
            "SELECT count(*) FROM dg_transfer_files WHERE job_id = $1", (done["id"],))
        assert left.scalar() == 0


async def test_a_job_that_has_not_ended_cannot_be_deleted(api: Api) -> None:
    done = await finished(api, (await started(api.client, "Last name\nA\n"))["id"])
    async with api.engine.begin() as conn:
        await conn.exec_driver_sql("UPDATE dg_transfer_jobs SET status = 'queued' "
                                   "WHERE id::text = $1", (done["id"],))
    errors = await api.errors("mutation($id: ID!) { deleteTransferJob(id: $id) }",
                              {"id": done["id"]})
    assert errors[0]["extensions"] == {"code": "CONFLICT", "field": "id"}
    async with api.engine.begin() as conn:
        await conn.exec_driver_sql("UPDATE dg_transfer_jobs SET status = 'finished' "
                                   "WHERE id::text = $1", (done["id"],))


async def test_a_running_worker_fails_the_jobs_a_worker_that_stopped_later_left_running(
    api: Api
) -> None:
    # Given a running worker's watch (made quick), and then a job left running by a worker
    # that died after the watch began (as when a killed server is restarted at once)
    from defalto_gql.transfer.queue import watch_interrupted

    watch = asyncio.create_task(watch_interrupted(api.runtime, every=0.05))
    done = await finished(api, (await started(api.client, "Last name\nGone\n"))["id"])
    async with api.engine.begin() as conn:
        await conn.exec_driver_sql("UPDATE dg_transfer_jobs SET status = 'running', "
                                   "finished_at = NULL WHERE id::text = $1", (done["id"],))
        # (with its upload still stored, as a killed worker leaves it)
        await conn.exec_driver_sql("INSERT INTO dg_transfer_files (job_id, kind, seq, chunk) "
                                   "VALUES ($1, 'upload', 0, 'x')", (done["id"],))

    # When the watch has had a round or two
    try:
        found = await finished(api, done["id"])
    finally:
        watch.cancel()

    # Then the job says it was interrupted, without another worker starting, and its
    # upload is gone
    assert found["status"] == "failed"
    assert "interrupted" in found["error"]
    async with api.engine.connect() as conn:
        left = await conn.exec_driver_sql(
            "SELECT count(*) FROM dg_transfer_files WHERE job_id = $1", (done["id"],))
        assert left.scalar() == 0


@pytest.mark.parametrize("job_id", ["ab\u0000", "not-a-uuid", str(uuid.uuid4())])
async def test_an_id_naming_no_job_is_not_found_however_it_is_spelt(
    api: Api, job_id: str
) -> None:
    for operation in ("query($id: ID!) { transferJob(id: $id) { id } }",
                      "mutation($id: ID!) { deleteTransferJob(id: $id) }"):
        errors = await api.errors(operation, {"id": job_id})
        assert errors[0]["extensions"] == {"code": "NOT_FOUND", "field": "id"}
    response = await api.client.get(f"/transfers/{job_id.replace(chr(0), '%00')}/rejects")
    assert response.status_code == 404


async def test_utf_16_without_a_byte_order_mark_is_refused_naming_the_byte_orders(
    api: Api
) -> None:
    body = await upload(api.client, "Last name\nA\n".encode("utf-16-le"),
                        options={"encoding": "utf-16"})

    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "file"}
    assert "utf-16-le or utf-16-be" in error["message"]
    le = await started(api.client, "Last name\nA\n".encode("utf-16-le"),  # type: ignore[arg-type]
                       options={"encoding": "utf-16-le"})
    assert (await finished(api, le["id"]))["result"]["created"] == 1


async def test_a_filter_nested_past_the_limit_is_bad_user_input_for_lists_and_exports(
    api: Api
) -> None:
    where = '{"and":[' * 120 + '{"lastName":{"eq":"x"}}' + "]}" * 120
    for operation in ("query($f: ContactFilter) { contacts(filter: $f) { totalCount } }",
                      'mutation($f: JSON) { startExport(module: "Contact", filter: $f, '
                      "bom: false) { id } }"):
        text = f'{{"query": {json.dumps(operation)}, "variables": {{"f": {where}}}}}'
        response = await api.client.post("/graphql", content=text,
                                         headers={"content-type": "application/json"})
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error


@pytest.mark.parametrize("variables", [["variables.a", "variables.b"], ["variables.a"]])
async def test_one_file_used_twice_in_a_request_is_read_whole_each_time(
    api: Api, variables: list[str]
) -> None:
    # One file part mapped to two variables, or one variable used by two fields
    names = [path.split(".")[1] for path in variables]
    declared = ", ".join(f"${n}: Upload!" for n in names)
    operations = {"query": f"mutation({declared}) {{ "
                           f'one: startImport(module: "Contact", file: ${names[0]}) {{ id }} '
                           f'two: startImport(module: "Contact", file: ${names[-1]}) {{ id }} }}',
                  "variables": dict.fromkeys(names)}
    response = await api.client.post("/graphql", data={
        "operations": json.dumps(operations), "map": json.dumps({"0": variables})},
        files={"0": ("people.csv", b"Last name\nTwice\n", "text/csv")})

    # Then both imports start and each reads the whole file
    body = response.json()
    assert "errors" not in body, body
    for name in ("one", "two"):
        done = await finished(api, body["data"][name]["id"])
        assert done["result"]["created"] == 1, done
    assert await contacts(api) == [("Twice", None), ("Twice", None)]


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic abc"])
async def test_an_upload_without_a_good_token_is_refused_before_its_body_is_read(
    api: Api, authorization: str | None
) -> None:
    # Given a large multipart body, sent in chunks whose reading is counted
    pulled = 0
    boundary = "b0undary"

    async def body() -> Any:
        nonlocal pulled
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="0"; '
                f'filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n')
        yield head.encode()
        for _ in range(50):
            pulled += 1
            yield b"x" * 65536

    headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
    if authorization:
        headers["authorization"] = authorization
    async with httpx.AsyncClient(transport=api.client._transport,
                                 base_url=str(api.client.base_url)) as stranger:
        response = await stranger.post("/graphql", content=body(), headers=headers)

    # Then it is a 401 and the file was not read through
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert pulled < 50


@pytest.mark.parametrize("name", ["Клиенты.csv", "日本.csv", "plain name.csv"])
async def test_files_named_in_any_script_download_under_their_name(api: Api, name: str) -> None:
    job = await started(api.client, "Last name,Email\nBad,not-an-email\n", name=name)
    done = await finished(api, job["id"])

    response = await api.client.get(done["rejectsUrl"])

    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert disposition.isascii()
    assert f"filename*=UTF-8''{quote('rejects-' + name, safe='')}" in disposition
    assert 'filename="rejects-' in disposition


async def test_rights_taken_away_while_a_job_waits_for_the_lock_fail_it(api: Api) -> None:
    # Given a user who may import contacts, and another import holding Contact's lock
    user, profile = await _user_and_profile(api, {"Contact": ["view", "create", "import"]})
    async with module_lock(api.engine, "Contact"):
        # When their job starts and waits, and an administrator takes the import right away
        job = await started(user.client, "Last name\nWaited\n")
        for _ in range(100):
            found = await api.query(f'{{ transferJob(id: "{job["id"]}") {{ status }} }}')
            if found["transferJob"]["status"] == "running":
                break
            await asyncio.sleep(0.05)
        await api.query("mutation($p: String!) { setModuleRights(profile: $p, "
                        'module: "Contact", actions: ["view", "create"]) }', {"p": profile})

    # Then, once it has the lock, the job fails for want of the right and writes nothing
    done = await finished(api, job["id"])
    assert done["status"] == "failed"
    assert "may not import Contact" in done["error"]
    assert await contacts(api) == []


async def test_mappings_of_an_empty_module_name_are_refused_not_all_listed(api: Api) -> None:
    errors = await api.errors('{ importMappings(module: "") { name } }')

    assert errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "module"}


async def test_rights_taken_away_while_a_job_waits_to_make_targets_refuse_them(
    api: Api
) -> None:
    # Given a user who may import contacts and create accounts, and an import holding
    # Account's lock
    user, profile = await _user_and_profile(api, {"Contact": ["view", "create", "import"],
                                                  "Account": ["view", "create"]})
    create = {"mapping": {"references": {"account": {"create": True}}}}
    async with module_lock(api.engine, "Account"):
        # When their job must create an account, waits, and loses the right meanwhile
        job = await started(user.client, "Last name,Account\nWaited,Brand New Co\n",
                            options=create)
        for _ in range(100):
            async with api.engine.connect() as conn:
                waiting = (await conn.exec_driver_sql(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND NOT granted")).scalar()
            if waiting:
                break
            await asyncio.sleep(0.05)
        await api.query("mutation($p: String!) { setModuleRights(profile: $p, "
                        'module: "Account", actions: ["view"]) }', {"p": profile})

    # Then the row is refused for want of the right, and no account is made
    done = await finished(api, job["id"])
    assert done["status"] == "finished", done
    assert (done["result"]["created"], done["result"]["rejected"]) == (0, 1)
    assert "you may not create Account records" in done["result"]["problems"][0]["reason"]
    found = await api.query("{ accounts { totalCount } }")
    assert found["accounts"]["totalCount"] == 0


async def test_a_fresh_read_of_rights_sees_a_change_no_notice_announced(api: Api) -> None:
    # Given a user's rights, read once (and kept), as the CLI reads them at its start
    from defalto_gql.transfer.commands import acting_policy

    user, profile = await _user_and_profile(api, {"Contact": ["view", "create", "import"]})
    email = (await user.query("{ me { email } }"))["me"]["email"]
    before = await acting_policy(api.runtime, email)
    # When the database changes them with no notice reaching this process (another one's
    # change, as a CLI import hears none)
    async with api.engine.begin() as conn:
        await conn.exec_driver_sql(
            "UPDATE dg_profile_modules SET can_import = false WHERE module = 'Contact' AND "
            "profile_id = (SELECT id FROM dg_profiles WHERE name = $1)", (profile,))

    # Then a cached read still has the old rights, and a fresh one the new
    assert before.allows("Contact", "import")
    assert (await acting_policy(api.runtime, email)).allows("Contact", "import")
    assert not (await acting_policy(api.runtime, email, fresh=True)).allows("Contact", "import")
