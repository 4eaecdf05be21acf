"""The real data sets, imported with the documented mappings and checked through GraphQL.

Totals are computed here from the CSV files themselves, independently of the importer.
"""

from __future__ import annotations

import csv
import os
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from defalto_gql.transfer.importing import Importer, ImportOptions
from defalto_gql.transfer.mapping import Mapping
from defalto_gql.transfer.reports import ImportReport
from defalto_gql.transfer.userrules import UserRules
from defalto_gql.transfer.users import UserImporter, UserImportOptions
from tests.conftest import Api
from tests.transfer.conftest import run_import

pytestmark = pytest.mark.realdata

REPO = Path(__file__).resolve().parents[2]
MAPPINGS = REPO / "docs" / "realdata"
STAGES = {"Won": "Closed Won", "Lost": "Closed Lost"}


def realdata_set(name: str, probe: str) -> Path:
    """The folder of one data set, or a skip saying where it was looked for."""
    given = os.environ.get("DEFALTO_REALDATA_DIR")
    found = Path(given) if given else REPO.parent / "shared" / "realdata"
    if not given and not found.is_dir():
        # A checkout that is not beside the data sets (a CI clone elsewhere on the machine
        # where they are kept) still finds them.
        found = Path("/work/shared/realdata")
    if not (found / name / probe).is_file():
        pytest.skip(f"the {name} set is not in {found}; set DEFALTO_REALDATA_DIR")
    return found / name


def realdata() -> Path:
    return realdata_set("maven-crm-sales-opportunities", "sales_pipeline.csv")


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


async def import_maven(api: Api, maven: Path) -> dict[str, ImportReport]:
    async def run(module: str, file: str, mapping: str, update: bool = False) -> ImportReport:
        options = ImportOptions(mapping=Mapping.load(MAPPINGS / mapping), match=("name",),
                                on_duplicate="update" if update else "skip")
        return await Importer(api.runtime, module, options).run(maven / file)

    # Agents first: a deal's owner is its sales agent, found by name.
    teams = UserImportOptions(rules=UserRules.load(MAPPINGS / "maven-users.json"),
                              match=("email",))
    return {
        "users": await UserImporter(api.runtime, teams).run(maven / "sales_teams.csv"),
        "products": await run("Product", "products.csv", "maven-products.json"),
        "accounts": await run("Account", "accounts.csv", "maven-accounts.json"),
        "parents": await run("Account", "accounts.csv", "maven-account-parents.json", True),
        "deals": await run("Deal", "sales_pipeline.csv", "maven-deals.json"),
    }


async def won_by_account(api: Api) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    after = None
    while True:
        page = (await api.query(
            """query($after: String) { deals(filter: {stage: {eq: "Closed Won"}}, first: 500,
               after: $after) { pageInfo { hasNextPage endCursor }
               edges { node { amount { amount } account { name } } } } }""",
            {"after": after}))["deals"]
        for edge in page["edges"]:
            node = edge["node"]
            totals[node["account"]["name"]] += Decimal(node["amount"]["amount"])
        if not page["pageInfo"]["hasNextPage"]:
            return dict(totals)
        after = page["pageInfo"]["endCursor"]


async def test_the_maven_set_imports_with_its_totals_intact(api: Api) -> None:
    maven = realdata()
    pipeline = read(maven / "sales_pipeline.csv")

    # When the products, accounts (then their parents) and the pipeline are imported
    reports = await import_maven(api, maven)

    # Then every row is written: the known defects are handled by documented mapping rules
    for name, report in reports.items():
        assert report.rejected == 0, (name, report.problems[:5])
    assert reports["deals"].created == len(pipeline) == 8800
    assert reports["deals"].extended == {"stage": ["Engaging"]}
    assert reports["parents"].updated == 85

    # And the deals per stage and the won value per account match the CSV's own totals
    per_stage = Counter(STAGES.get(r["deal_stage"], r["deal_stage"]) for r in pipeline)
    for stage, count in per_stage.items():
        found = await api.query(f'{{ deals(filter: {{stage: {{eq: "{stage}"}}}}) '
                                "{ totalCount } }")
        assert found["deals"]["totalCount"] == count, stage
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for row in pipeline:
        if row["deal_stage"] == "Won":
            expected[row["account"]] += Decimal(row["close_value"])
    assert await won_by_account(api) == dict(expected)
    parents = await api.query('{ accounts(filter: {name: {eq: "Sonron"}}) { edges { node { '
                              "memberAccounts { totalCount } } } } }")
    subsidiaries = sum(1 for r in read(maven / "accounts.csv") if r["subsidiary_of"] == "Sonron")
    assert parents["accounts"]["edges"][0]["node"]["memberAccounts"]["totalCount"] == \
        subsidiaries

    # And importing the pipeline again with the match rule changes nothing
    again = await import_maven(api, maven)
    assert again["deals"].skipped == 8800
    total = await api.query("{ deals { totalCount } }")
    assert total["deals"]["totalCount"] == 8800


async def test_without_the_product_rule_the_misspelt_product_rows_are_reported(api: Api) -> None:
    maven = realdata()
    await run_import(api, "Product", maven / "products.csv",
                     mapping={"columns": {"series": None, "product": "name",
                                          "sales_price": "unitPrice"},
                              "currencies": {"unitPrice": "USD"}})
    rules = Mapping.load(MAPPINGS / "maven-deals.json")
    # Agents are not imported here either: the owner column is left out.
    mapping = {"columns": {**rules.columns, "sales_agent": None},
               "values": {"stage": rules.values["stage"]},
               "extendPicklists": ["stage"], "currencies": rules.currencies}
    pipeline = read(maven / "sales_pipeline.csv")

    report = await run_import(api, "Deal", maven / "sales_pipeline.csv", mapping=mapping,
                              dry_run=True)

    misspelt = sum(1 for r in pipeline if r["product"] == "GTXPro")
    # Accounts were not imported here: rows naming one are rejected too
    named = sum(1 for r in pipeline if r["product"] == "GTXPro" or r["account"])
    assert misspelt == 1480
    assert report.rejected == named
    reasons = [p.reason for p in report.problems if p.column == "product"]
    assert reasons and reasons[0] == "no Product has the name or record number 'GTXPro'"


async def maven_people(api: Api) -> dict[str, dict[str, Any]]:
    """The users the Maven mapping made (their addresses are under its .invalid domain)."""
    found = await api.query("{ users { id email name manager office } }")
    return {u["name"]: u for u in found["users"] if u["email"].endswith("@maven-crm.invalid")}


async def won_by_owner(api: Api) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    after = None
    while True:
        page = (await api.query(
            """query($after: String) { deals(filter: {stage: {eq: "Closed Won"}}, first: 500,
               after: $after) { pageInfo { hasNextPage endCursor }
               edges { node { amount { amount } ownerId } } } }""",
            {"after": after}))["deals"]
        for edge in page["edges"]:
            totals[edge["node"]["ownerId"]] += Decimal(edge["node"]["amount"]["amount"])
        if not page["pageInfo"]["hasNextPage"]:
            return dict(totals)
        after = page["pageInfo"]["endCursor"]


async def test_maven_agents_become_users_who_own_their_deals(api: Api) -> None:
    maven = realdata()
    teams = read(maven / "sales_teams.csv")
    pipeline = read(maven / "sales_pipeline.csv")

    # When the set is imported, the agents first
    reports = await import_maven(api, maven)

    # Then every agent is a user (made now, or by an earlier test: users outlive tests),
    # and so is every manager, though managers have no row of their own
    users = reports["users"]
    assert users.rejected == 0 and users.created + users.skipped == len(teams) == 35
    assert reports["deals"].rejected == 0
    people = await maven_people(api)
    managers = {r["manager"] for r in teams}
    assert set(people) == {r["sales_agent"] for r in teams} | managers
    assert (len(people), len(managers)) == (41, 6)

    # And each agent reports to their manager and works from their office
    names = {u["email"]: name for name, u in people.items()}
    for row in teams:
        agent = people[row["sales_agent"]]
        assert (names[agent["manager"]], agent["office"]) == \
            (row["manager"], row["regional_office"])
    assert all((people[m]["manager"], people[m]["office"]) == (None, None) for m in managers)

    # And the deals per agent and the won value per regional office match the CSV's totals
    per_agent = Counter(r["sales_agent"] for r in pipeline)
    aliases = " ".join(
        f'a{i}: deals(filter: {{ownerId: {{eq: "{people[r["sales_agent"]]["id"]}"}}}}) '
        "{ totalCount }" for i, r in enumerate(teams))
    counts = await api.query(f"{{ {aliases} }}")
    assert [counts[f"a{i}"]["totalCount"] for i in range(len(teams))] == \
        [per_agent[r["sales_agent"]] for r in teams]
    assert sum(1 for r in teams if not per_agent[r["sales_agent"]]) == 5
    office = {r["sales_agent"]: r["regional_office"] for r in teams}
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for row in pipeline:
        if row["deal_stage"] == "Won":
            expected[office[row["sales_agent"]]] += Decimal(row["close_value"])
    office_by_id = {u["id"]: u["office"] for u in people.values()}
    found: dict[str, Decimal] = defaultdict(Decimal)
    for owner, value in (await won_by_owner(api)).items():
        found[office_by_id[owner]] += value
    assert found == expected


# The Datablist and Febrl sets: Datablist into accounts, contacts and leads;
# Febrl into contacts with duplicate detection, scored against its rec_id truth.

async def test_the_datablist_samples_import_and_a_second_run_creates_nothing(api: Api) -> None:
    folder = realdata_set("datablist-sample-csv", "leads-100.csv")
    runs = [("Account", "organizations-100.csv", "datablist-organizations.json", "name"),
            ("Contact", "people-1000.csv", "datablist-people.json", "email"),
            ("Lead", "leads-100.csv", "datablist-leads.json", "email")]

    async def run_all() -> list[ImportReport]:
        return [await Importer(api.runtime, module, ImportOptions(
            mapping=Mapping.load(MAPPINGS / mapping), match=(match,))).run(folder / file)
            for module, file, mapping, match in runs]

    first = await run_all()
    again = await run_all()

    assert [(r.created, r.rejected) for r in first] == [(100, 0), (1000, 0), (100, 0)]
    assert [r.skipped for r in again] == [100, 1000, 100]
    leads = read(folder / "leads-100.csv")
    # Quoted commas and picklist values with parentheses arrive intact
    company = next(r["Company"] for r in leads if "," in r["Company"])
    found = await api.query('query($c: String!) { leads(filter: {company: {eq: $c}}) '
                            "{ totalCount } }", {"c": company})
    assert found["leads"]["totalCount"] == sum(r["Company"] == company for r in leads)
    seo = sum(r["Source"] == "Organic Search (SEO)" for r in leads)
    found = await api.query('{ leads(filter: {source: {eq: "Organic Search (SEO)"}}) '
                            "{ totalCount } }")
    assert found["leads"]["totalCount"] == seo


def febrl_truth(path: Path) -> tuple[dict[int, str], dict[tuple[str, ...], set[str]]]:
    """Each line's entity (``rec-N``), and each row's imported values to the entities with them."""
    entities: dict[int, str] = {}
    values: dict[tuple[str, ...], set[str]] = defaultdict(set)
    with path.open(encoding="utf-8", newline="") as file:
        for line, row in enumerate(csv.DictReader(file, skipinitialspace=True), start=2):
            entity = "-".join(row["rec_id"].split("-")[:2])
            entities[line] = entity
            values[febrl_key(row)].add(entity)
    return entities, values


def febrl_key(row: dict[str, str]) -> tuple[str, ...]:
    street = " ".join(v for v in (row["street_number"], row["address_1"]) if v)
    born = row["date_of_birth"]
    born = f"{born[:4]}-{born[4:6]}-{born[6:]}" if born else ""
    return (row["given_name"], row["surname"], street, row["postcode"], born)


async def contact_keys(api: Api) -> dict[str, tuple[str, ...]]:
    keys: dict[str, tuple[str, ...]] = {}
    after = None
    while True:
        page = (await api.query(
            """query($after: String) { contacts(first: 500, after: $after) {
               pageInfo { hasNextPage endCursor } edges { node { id firstName lastName
               mailingStreet mailingPostalCode birthday } } } }""", {"after": after}))["contacts"]
        for edge in page["edges"]:
            n = edge["node"]
            keys[n["id"]] = tuple(n[k] or "" for k in ("firstName", "lastName", "mailingStreet",
                                                       "mailingPostalCode", "birthday"))
        if not page["pageInfo"]["hasNextPage"]:
            return keys
        after = page["pageInfo"]["endCursor"]


@pytest.mark.parametrize(("dataset", "precision", "recall"), [
    ("dataset1", 0.99, 0.93), ("dataset3", 0.99, 0.93)])
async def test_febrl_duplicates_are_detected_against_the_rec_id_truth(
    api: Api, tmp_path: Path, dataset: str, precision: float, recall: float
) -> None:
    path = realdata_set("febrl-synthetic-people", "dataset1.csv") / f"{dataset}.csv"
    notes = tmp_path / "duplicates.csv"
    options = ImportOptions(mapping=Mapping.load(MAPPINGS / "febrl-people.json"),
                            duplicates=notes)

    report = await Importer(api.runtime, "Contact", options).run(path)

    # Every row is accounted for; rejected rows lack a surname or have an impossible date
    assert report.rows == report.created + report.skipped + report.rejected
    rejected = {p.line for p in report.problems}
    assert len(rejected) == report.rejected
    assert {p.column for p in report.problems} <= {"surname", "date_of_birth"}

    # The truth: a row duplicates when an earlier written row has its rec-N
    entities, values = febrl_truth(path)
    seen: set[str] = set()
    expected = set()
    for line, entity in sorted(entities.items()):
        if line in rejected:
            continue
        if entity in seen:
            expected.add(line)
        seen.add(entity)
    with notes.open(encoding="utf-8", newline="") as file:
        found = {int(r["line"]): r["existing_id"] for r in csv.DictReader(file)}
    assert len(found) == report.detected == report.skipped

    # A detected row is right when the record it names was written from a row of its rec-N
    keys = await contact_keys(api)
    right = sum(entities[line] in values[keys[ident]] for line, ident in found.items())
    assert right / len(found) >= precision
    assert len(expected & set(found)) / len(expected) >= recall


async def test_a_febrl_merge_dry_run_reports_what_the_real_merge_does(api: Api) -> None:
    path = realdata_set("febrl-synthetic-people", "dataset1.csv") / "dataset1.csv"
    mapping = Mapping.load(MAPPINGS / "febrl-people.json")

    def outcome(report: ImportReport) -> tuple[Any, ...]:
        notes = [(n.line, n.filled, n.conflicts) for n in report.duplicates]
        return (report.created, report.merged, report.rejected, report.conflicted, notes)

    dry = await Importer(api.runtime, "Contact", ImportOptions(
        mapping=mapping, on_duplicate="merge", dry_run=True)).run(path)
    real = await Importer(api.runtime, "Contact", ImportOptions(
        mapping=mapping, on_duplicate="merge")).run(path)

    assert outcome(dry) == outcome(real)
    assert real.merged == real.detected > 400
