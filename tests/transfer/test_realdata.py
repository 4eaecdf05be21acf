"""The Maven CRM sales set, imported with the documented mappings and checked through GraphQL.

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


def realdata() -> Path:
    found = Path(os.environ.get("DEFALTO_REALDATA_DIR", REPO.parent / "shared" / "realdata"))
    if not found.is_dir():
        found = Path("/work/shared/realdata")
    maven = found / "maven-crm-sales-opportunities"
    if not (maven / "sales_pipeline.csv").is_file():
        pytest.skip(f"the Maven CRM sales set is not in {found}; set DEFALTO_REALDATA_DIR")
    return maven


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
                                          "sales_price": "unitPrice"}})
    rules = Mapping.load(MAPPINGS / "maven-deals.json")
    # Agents are not imported here either: the owner column is left out.
    mapping = {"columns": {**rules.columns, "sales_agent": None},
               "values": {"stage": rules.values["stage"]},
               "extendPicklists": ["stage"]}
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

