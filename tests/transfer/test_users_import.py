"""Importing users from CSV: derived emails only by rule, managers, every row reported."""

from __future__ import annotations

import csv
import json
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from defalto_gql.access.policy import AccessPolicy
from defalto_gql.errors import Forbidden
from defalto_gql.transfer.mapping import MappingError
from defalto_gql.transfer.reports import ImportReport
from defalto_gql.transfer.userrules import UserRules, derive_email
from defalto_gql.transfer.users import UserImporter, UserImportOptions
from tests.conftest import Api, drop_database, scratch_database
from tests.processes import DEFALTO, environment
from tests.transfer.conftest import csv_file


def team() -> tuple[str, str]:
    """A domain and a name suffix no other test uses (users outlive each test)."""
    tag = uuid.uuid4().hex[:6]
    return f"t{tag}.invalid", tag


def rules(domain: str | None, *, create: bool = True) -> dict[str, Any]:
    found: dict[str, Any] = {"columns": {"agent": "name"},
                             "references": {"manager": {"create": create}}}
    if domain:
        found["deriveEmails"] = {"domain": domain}
    return found


async def import_users(api: Api, path: Path, mapping: dict[str, Any],
                       policy: AccessPolicy | None = None, **options: Any) -> ImportReport:
    found = UserImportOptions(rules=UserRules.from_dict(mapping), **options)
    return await UserImporter(api.runtime, found, policy).run(path)


async def people(api: Api, domain: str) -> dict[str, dict[str, Any]]:
    found = await api.query("{ users { email name manager office active } }")
    return {u["email"]: u for u in found["users"] if u["email"].endswith(domain)}


async def test_a_team_imports_with_managers_and_offices_and_again_changes_nothing(
    api: Api, tmp_path: Path
) -> None:
    domain, tag = team()
    path = csv_file(tmp_path, f"agent,manager,office\r\nAnna Sn {tag},Dustin Br {tag},Central\r\n"
                              f"Cecily Lä {tag},Dustin Br {tag},Central\r\n"
                              f"Moses Fr {tag},Anna Sn {tag},West\r\n")

    first = await import_users(api, path, rules(domain), match=("email",))
    again = await import_users(api, path, rules(domain), match=("email",))

    assert (first.created, first.rejected, first.targets_created) == (3, 0, {"User": 1})
    assert (again.created, again.skipped, again.targets_created) == (0, 3, {})
    found = await people(api, domain)
    assert len(found) == 4
    boss = f"dustin.br.{tag}@{domain}"
    assert found[f"cecily.la.{tag}@{domain}"] == {
        "email": f"cecily.la.{tag}@{domain}", "name": f"Cecily Lä {tag}", "manager": boss,
        "office": "Central", "active": True}
    # The manager comes later in the file than no one: a row names another row
    assert found[f"moses.fr.{tag}@{domain}"]["manager"] == f"anna.sn.{tag}@{domain}"
    # Named only as a manager: a user with no office, reporting to nobody
    assert (found[boss]["office"], found[boss]["manager"]) == (None, None)


async def test_imported_users_have_no_password_until_an_administrator_sets_one(
    api: Api, tmp_path: Path
) -> None:
    domain, tag = team()
    path = csv_file(tmp_path, f"agent\nPat Doe {tag}\n")
    await import_users(api, path, rules(domain))
    email = f"pat.doe.{tag}@{domain}"

    async with api.engine.connect() as conn:
        stored = (await conn.exec_driver_sql(
            "SELECT password_hash, is_admin FROM dg_users WHERE email = $1", (email,))).one()

    assert tuple(stored) == (None, False)
    refused = await api.raw('mutation($e: String!) { login(email: $e, password: "anything-at-all") '
                            "{ token } }", {"e": email})
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_dry_run_reports_the_same_and_writes_nothing(api: Api, tmp_path: Path) -> None:
    domain, tag = team()
    path = csv_file(tmp_path, f"agent,manager\nAl One {tag},Bo Two {tag}\n,Bo Two {tag}\n")

    dry = await import_users(api, path, rules(domain), dry_run=True)

    assert (dry.dry_run, dry.created, dry.rejected, dry.targets_created) == \
        (True, 1, 1, {"User": 1})
    assert await people(api, domain) == {}


async def test_without_an_email_rule_rows_without_email_are_rejected(
    api: Api, tmp_path: Path
) -> None:
    domain, tag = team()
    path = csv_file(tmp_path, f"agent,email\nAl One {tag},al@{domain}\nBo Two {tag},\n"
                              f",cy@{domain}\nDi Four {tag},not-an-address\n")
    rejects = tmp_path / "rejects.csv"

    report = await import_users(api, path, rules(None), rejects=rejects)

    assert (report.rows, report.created, report.rejected) == (4, 1, 3)
    assert [str(p) for p in report.problems] == [
        "line 3: email: is required: the row has none, and the mapping has no deriveEmails "
        "rule to make one from the name",
        "line 4: agent: is required",
        "line 5: email: 'not-an-address' is not an email address"]
    with rejects.open(encoding="utf-8", newline="") as file:
        rejected = list(csv.DictReader(file))
    assert [(r["agent"], r["line"]) for r in rejected] == [
        (f"Bo Two {tag}", "3"), ("", "4"), (f"Di Four {tag}", "5")]
    assert list(await people(api, domain)) == [f"al@{domain}"]


async def test_two_people_whose_names_derive_the_same_email_are_both_rejected(
    api: Api, tmp_path: Path
) -> None:
    domain, tag = team()
    path = csv_file(tmp_path, f"agent,manager\nAnn Lee {tag},\nAnn-Lee {tag},\n"
                              f"Kim Park {tag},Ann Lee {tag}\n")

    report = await import_users(api, path, rules(domain))

    email = f"ann.lee.{tag}@{domain}"
    assert (report.created, report.rejected) == (0, 3)
    assert str(report.problems[0]) == (
        f"line 2: agent: the email {email} derived from the name is also the email of line 3; "
        "two people cannot share one: give them emails in an email column")
    # The manager's own row is rejected: no user is invented for the name instead
    assert str(report.problems[2]) == "line 4: manager: the manager's own row (line 2) is rejected"
    assert await people(api, domain) == {}


async def test_a_derived_email_of_someone_else_is_not_a_duplicate(api: Api, tmp_path: Path
                                                                   ) -> None:
    domain, tag = team()
    await import_users(api, csv_file(tmp_path, f"agent\nAnn Lee {tag}\n"), rules(domain))

    report = await import_users(api, csv_file(tmp_path, f"agent\nAnn-Lee {tag}\n"),
                                rules(domain), match=("email",))

    assert (report.skipped, report.rejected) == (0, 1)
    assert report.problems[0].reason == (f"the email ann.lee.{tag}@{domain} derived from the "
                                         f"name belongs to 'Ann Lee {tag}' already")


async def test_unknown_managers_are_rejected_unless_the_mapping_creates_them(
    api: Api, tmp_path: Path
) -> None:
    domain, tag = team()
    path = csv_file(tmp_path, f"agent,manager\nAl One {tag},Nobody {tag}\n"
                              f"Bo Two {tag},boss@{domain}\n")
    mails = csv_file(tmp_path, f"agent,email,manager\nCy Three {tag},cy@{domain},Nobody {tag}\n")

    strict = await import_users(api, path, rules(domain, create=False), dry_run=True)
    no_rule = await import_users(api, mails, rules(None), dry_run=True)

    assert [str(p) for p in strict.problems] == [
        f"line 2: manager: no user has the email or name 'Nobody {tag}': add a row for them, "
        "or let the mapping create managers (references.manager.create)",
        f"line 3: manager: no user has the email or name 'boss@{domain}': add a row for them, "
        "or let the mapping create managers (references.manager.create)"]
    assert [str(p) for p in no_rule.problems] == [
        f"line 2: manager: 'Nobody {tag}' is no user yet, and without a deriveEmails rule "
        "there is no email to create them with"]


async def test_reporting_lines_do_not_loop(api: Api, tmp_path: Path) -> None:
    domain, tag = team()
    path = csv_file(tmp_path, f"agent,manager\nAl One {tag},Bo Two {tag}\n"
                              f"Bo Two {tag},Al One {tag}\nCy Three {tag},Cy Three {tag}\n")

    report = await import_users(api, path, rules(domain), dry_run=True)

    al, bo = f"al.one.{tag}@{domain}", f"bo.two.{tag}@{domain}"
    assert [str(p) for p in report.problems] == [
        f"line 2: manager: the reporting line loops: {al} -> {bo} -> {al}",
        f"line 3: manager: the reporting line loops: {bo} -> {al} -> {bo}",
        "line 4: manager: a user cannot report to themselves"]


async def test_matching_on_email_with_update_changes_office_and_manager(
    api: Api, tmp_path: Path
) -> None:
    domain, tag = team()
    await import_users(api, csv_file(tmp_path, f"agent,office\nAl One {tag},East\n"),
                       rules(domain))
    moved = csv_file(tmp_path, f"agent,manager,office\nAl One {tag},Bo Two {tag},West\n")

    report = await import_users(api, moved, rules(domain), match=("email",),
                                on_duplicate="update")

    assert (report.updated, report.created, report.targets_created) == (1, 0, {"User": 1})
    al = (await people(api, domain))[f"al.one.{tag}@{domain}"]
    assert (al["office"], al["manager"]) == ("West", f"bo.two.{tag}@{domain}")


async def test_only_administrators_import_users(api: Api, tmp_path: Path) -> None:
    path = csv_file(tmp_path, "agent\nAl One\n")
    someone = AccessPolicy(user_id=str(uuid.uuid4()), is_admin=False)

    with pytest.raises(Forbidden) as refused:
        await import_users(api, path, rules("x.invalid"), policy=someone)

    assert refused.value.code == "FORBIDDEN"


async def test_mappings_that_cannot_work_stop_the_import(api: Api, tmp_path: Path) -> None:
    path = csv_file(tmp_path, "agent,password\nAl One,secret\n")

    with pytest.raises(MappingError, match="never sets passwords"):
        await import_users(api, path, {"columns": {"agent": "name", "password": "password"}})
    with pytest.raises(MappingError, match="not a domain name"):
        await import_users(api, path, {"deriveEmails": {"domain": "not a domain"}})
    with pytest.raises(MappingError, match="no column fills the user's name"):
        await import_users(api, path, {})
    with pytest.raises(MappingError, match="email or name"):
        await import_users(api, path, rules("x.invalid"), match=("office",))


def test_derived_addresses_drop_accents_case_and_punctuation() -> None:
    assert derive_email("  Zoë O'Brien-Smith ", "acme.invalid") == \
        "zoe.o.brien.smith@acme.invalid"
    with pytest.raises(ValueError, match="no letters or digits"):
        derive_email("—", "acme.invalid")


@pytest.fixture
async def scratch_url(server_url: str) -> AsyncIterator[str]:
    url = await scratch_database(server_url)
    yield url
    await drop_database(server_url, url)


def test_the_command_imports_users_as_an_administrator_only(scratch_url: str, tmp_path: Path
                                                            ) -> None:
    env = environment(DEFALTO_DATABASE_URL=scratch_url)
    path = csv_file(tmp_path, "agent,manager,office\nAl One,Bo Two,East\nCy Three,,\n")
    mapping = tmp_path / "users.json"
    mapping.write_text(json.dumps(rules("example.invalid")), encoding="utf-8")
    rep = subprocess.run([DEFALTO, "user", "create", "--email", "rep@example.com", "--name",
                          "Rep", "--password-stdin"], input="rep-password-1\n", env=env,
                         capture_output=True, text=True, timeout=180, check=False)
    assert rep.returncode == 0, rep.stderr
    command = [DEFALTO, "import", "users", str(path), "--mapping", str(mapping), "--match",
               "email", "--no-progress"]

    def run(*more: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*command, *more], env=env, capture_output=True, text=True,
                              timeout=180, check=False)

    refused, first, again = run("--as", "rep@example.com"), run(), run()

    assert refused.returncode == 2 and "error: only administrators import users" in \
        refused.stderr
    assert first.returncode == 0, first.stderr
    assert "User: 2 rows read; 2 were created" in first.stderr
    assert "1 User records were created for references" in first.stderr
    assert again.returncode == 0 and "2 skipped as duplicates" in again.stderr


async def test_the_system_users_address_is_refused_alike_in_a_dry_run_and_a_real_run(
    api: Api, tmp_path: Path
) -> None:
    path = tmp_path / "system.csv"
    path.write_text("name,email\nSys,system@defalto.invalid\n", encoding="utf-8")
    reports = [await UserImporter(api.runtime, UserImportOptions(dry_run=dry)).run(path)
               for dry in (True, False)]
    assert [(r.created, r.rejected) for r in reports] == [(0, 1), (0, 1)]
    assert "system" in str(reports[1].problems[0])


async def test_a_nul_character_in_a_cell_rejects_its_row_not_the_import(
    api: Api, tmp_path: Path
) -> None:
    domain, tag = team()
    path = csv_file(tmp_path, f"agent,office\nAl One {tag},West\nBo\x00Two {tag},West\n"
                              f"Cy Three {tag},We\x00st\n")

    report = await import_users(api, path, rules(domain))

    assert (report.rows, report.created, report.rejected) == (3, 1, 2)
    assert [str(p) for p in report.problems] == [
        "line 3: agent: contains a NUL character", "line 4: office: contains a NUL character"]
    assert list(await people(api, domain)) == [f"al.one.{tag}@{domain}"]
