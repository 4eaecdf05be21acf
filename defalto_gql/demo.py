"""A deterministic demo data set, created through the GraphQL API.

``load_demo`` builds a few hundred linked records across the shipped modules:
accounts (some owned by a parent account), contacts in reporting chains, leads,
products, deals linked to contacts through the contacts-deals relation, support
tickets and comments on accounts, deals and tickets.

It only talks to the API through an ``execute`` callable, so the same code
loads the demo in process or over HTTP. The same seed always gives the same
records: dates are counted from a fixed day, not from today. Every picklist
value used below was checked against the files in ``metadata/``; the server
validates them again on create.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

Execute = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
"""Runs one GraphQL operation with variables; returns ``data`` and raises on errors."""

Row = dict[str, Any]

SEED = 20240501
REFERENCE_DAY = dt.date(2025, 1, 15)
BATCH_SIZE = 100
# Aliased calls per request. The demo loads through the served schema, limits included, so
# this stays under the default DEFALTO_MAX_ALIASES; a lower setting lowers it (load_demo).
LINKS_PER_REQUEST = 25

TOP_ACCOUNTS, SUBSIDIARIES = 30, 10
MANAGERS, STAFF = 45, 65
LEADS, DEALS, TICKETS, COMMENTS = 60, 80, 30, 60

# Company name endings and the industry picklist value each one implies.
SECTORS = {
    "Logistics": "Logistics / Procurement",
    "Software": "Software",
    "Ceramics": "Glass / Ceramics / Concrete",
    "Foods": "Food / Beverages",
    "Pharma": "Pharmaceuticals",
    "Robotics": "Mechanical or Industrial Engineering",
    "Energy": "Energy",
    "Capital": "Venture Capital / VC",
    "Insurance": "Insurance",
    "Media": "Media",
    "Textiles": "Textiles",
    "Telecom": "Telecommunications",
    "Hotels": "Hospitality",
    "Builders": "Construction",
    "Semiconductors": "Semiconductors",
    "Health": "Healthcare",
}
NAME_STARTS = (
    "Northwind",
    "Bluebird",
    "Granite",
    "Alder",
    "Copperfield",
    "Harbor",
    "Lumen",
    "Meridian",
    "Oakridge",
    "Pinecrest",
    "Quarry",
    "Redwood",
    "Silverline",
    "Tidewater",
    "Vantage",
    "Westbrook",
    "Zephyr",
    "Kestrel",
    "Ironbridge",
    "Solstice",
)


@dataclass(frozen=True)
class Place:
    """Where a company sits: the address, currency and phone prefix follow from it."""

    city: str
    country: str
    currency: str
    dial: str


PLACES = (
    Place("Berlin", "Germany", "EUR", "+49 30"),
    Place("Lyon", "France", "EUR", "+33 4"),
    Place("London", "United Kingdom", "GBP", "+44 20"),
    Place("New York", "United States", "USD", "+1 212"),
    Place("Austin", "United States", "USD", "+1 512"),
    Place("Toronto", "Canada", "CAD", "+1 416"),
    Place("Zurich", "Switzerland", "CHF", "+41 44"),
    Place("Stockholm", "Sweden", "SEK", "+46 8"),
    Place("Tokyo", "Japan", "JPY", "+81 3"),
    Place("Sydney", "Australia", "AUD", "+61 2"),
)
STREETS = ("Market Street", "Station Road", "Harbour Lane", "Mill Street", "King Street")
ACCOUNT_TYPES = {"Customer": 6, "Prospect": 4, "Partner": 2, "Reseller": 1, "Competitor": 1}

FIRST_NAMES = (
    ("Anna", "Ms."),
    ("Ben", "Mr."),
    ("Chloe", "Ms."),
    ("David", "Mr."),
    ("Elena", "Mrs."),
    ("Farid", "Mr."),
    ("Grace", "Ms."),
    ("Hiro", "Mr."),
    ("Ines", "Ms."),
    ("Jonas", "Mr."),
    ("Kira", "Mx."),
    ("Liam", "Mr."),
    ("Maya", "Dr."),
    ("Noah", "Mr."),
    ("Olga", "Prof."),
    ("Priya", "Ms."),
    ("Quentin", "Mr."),
    ("Rosa", "Mrs."),
    ("Sam", "Mx."),
    ("Tomas", "Dr."),
)
LAST_NAMES = (
    "Andersson",
    "Bauer",
    "Chen",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Martin",
    "Nakamura",
    "Okafor",
    "Patel",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Walker",
)
# (title, department) for each level of a reporting chain.
HEADS = (("Chief Executive Officer", "Management"), ("Managing Director", "Management"))
MANAGER_ROLES = (
    ("Head of Sales", "Sales"),
    ("Finance Director", "Finance"),
    ("IT Manager", "IT"),
    ("Head of Procurement", "Procurement"),
    ("Operations Manager", "Operations"),
)
STAFF_ROLES = (
    ("Account Executive", "Sales"),
    ("Buyer", "Procurement"),
    ("Systems Engineer", "IT"),
    ("Financial Analyst", "Finance"),
    ("Office Manager", "Operations"),
)
LEAD_SOURCES = (
    "Web",
    "Referral",
    "Trade Show",
    "Cold Call",
    "LinkedIn Outreach",
    "Partner",
    "Existing Customer",
    "Webinars",
    "Google Ads",
    "Word of Mouth",
)

LEAD_STATUSES = ("New Lead", "Contacted", "Qualified", "Proposal Sent", "On Hold", "Disqualified")
COMPANY_SIZES = ("1-10", "11-50", "51-200", "201-500", "501-1000", "1000+")

# (name, code, category, unit price in USD)
PRODUCTS = (
    ("Defalto Cloud CRM, per seat", "CRM-SEAT", "Subscription", 45),
    ("Defalto Cloud CRM, enterprise", "CRM-ENT", "Subscription", 25000),
    ("Data migration package", "SVC-MIGR", "Service", 8500),
    ("Integration workshop", "SVC-INTG", "Service", 3200),
    ("Admin training, two days", "TRN-ADMIN", "Training", 1900),
    ("End-user training, online", "TRN-USER", "Training", 250),
    ("Premium support, yearly", "SUP-PREM", "Support", 12000),
    ("Standard support, yearly", "SUP-STD", "Support", 4000),
    ("Reporting add-on", "ADD-REP", "Software", 6000),
    ("Mobile sales app", "ADD-MOB", "Software", 3500),
    ("Barcode scanner kit", "HW-SCAN", "Hardware", 480),
    ("Legacy on-premise licence", "LIC-ONPREM", "Other", 15000),
)
# (stage, probability, weight): more open deals early in the pipeline.
STAGES = (
    ("Prospecting", 10, 4),
    ("Qualification", 20, 4),
    ("Needs Analysis", 30, 3),
    ("Value Proposition", 40, 2),
    ("Proposal", 60, 3),
    ("Negotiation", 80, 2),
    ("Closed Won", 100, 4),
    ("Closed Lost", 0, 3),
)
NEXT_STEPS = (
    "Schedule a demo",
    "Send the proposal",
    "Call the decision maker",
    "Agree on the pilot scope",
    "Review the contract draft",
)

TICKET_SUBJECTS = (
    "Cannot log in to {product}",
    "Slow search in {product}",
    "Invoice question about {product}",
    "Feature request for {product}",
    "Data export fails in {product}",
    "How to configure {product}",
)
TICKET_STATUSES = ("Open", "In Progress", "Wait For Response", "Closed")
TICKET_PRIORITIES = ("Low", "Normal", "High", "Urgent")
TICKET_SEVERITIES = ("Minor", "Major", "Feature", "Critical")
TICKET_CATEGORIES = ("Big Problem", "Small Problem", "Other Problem", "Question")

COMMENT_BODIES = {
    "Account": (
        "Met the team at their offices; they plan to grow the sales department.",
        "New procurement rules from next quarter: three quotes needed.",
        "Asked for references in their industry.",
    ),
    "Deal": (
        "Budget confirmed by finance.",
        "Competitor offered a lower price; we stress migration support.",
        "Legal review of the contract started.",
        "Pilot users are happy with the mobile app.",
    ),
    "Ticket": (
        "Reproduced on the staging system.",
        "Workaround sent to the customer.",
        "Fix is scheduled for the next release.",
    ),
}


@dataclass(frozen=True)
class Record:
    """A created record: the id the server gave it and the input it was created from."""

    id: str
    data: Row


async def load_demo(
    execute: Execute, *, seed: int = SEED, max_aliases: int = LINKS_PER_REQUEST
) -> dict[str, int]:
    """Create the demo data set through ``execute``; returns the count per module.

    The ``contactDeals`` entry counts links between deals and contacts. No request
    uses more than ``max_aliases`` aliases (the server's DEFALTO_MAX_ALIASES).
    """
    rng = random.Random(seed)

    products = await _create_many(execute, "Product", "Products", _product_rows(rng))
    accounts = await _create_accounts(execute, rng)
    contacts = await _create_contacts(execute, rng, accounts)
    leads = await _create_many(execute, "Lead", "Leads", _lead_rows(rng))
    deals = await _create_many(execute, "Deal", "Deals", _deal_rows(rng, accounts, products))
    per_request = max(1, min(LINKS_PER_REQUEST, max_aliases))
    links = await _link_deal_contacts(execute, rng, deals, contacts, per_request)
    tickets = await _create_tickets(execute, rng, contacts, products)
    comments = await _create_comments(execute, rng, accounts, deals, tickets)

    counts = {
        "Account": len(accounts),
        "Contact": len(contacts),
        "Lead": len(leads),
        "Product": len(products),
        "Deal": len(deals),
        "Ticket": len(tickets),
        "Comment": len(comments),
        "contactDeals": links,
    }
    logger.info("demo data loaded", extra={"counts": counts})
    return counts


async def _create_many(execute: Execute, module: str, plural: str, rows: list[Row]) -> list[Record]:
    """Create ``rows`` with the create-many mutation, ``BATCH_SIZE`` rows per request."""
    mutation = (
        f"mutation DemoCreate{plural}($data: [{module}CreateInput!]!) "
        f"{{ create{plural}(data: $data) {{ id }} }}"
    )
    created: list[Record] = []
    for start in range(0, len(rows), BATCH_SIZE):
        batch = rows[start : start + BATCH_SIZE]
        data = await execute(mutation, {"data": batch})
        ids = [item["id"] for item in data[f"create{plural}"]]
        created.extend(Record(id_, row) for id_, row in zip(ids, batch, strict=True))
    return created


def _money(amount: float, currency: str) -> Row:
    return {"amount": f"{amount:.2f}", "currency": currency}


def _phone(rng: random.Random, dial: str) -> str:
    return f"{dial} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"


def _day(offset: int) -> str:
    return (REFERENCE_DAY + dt.timedelta(days=offset)).isoformat()


def _product_rows(rng: random.Random) -> list[Row]:
    return [
        {
            "name": name,
            "code": code,
            "category": category,
            "unitPrice": _money(price, "USD"),
            # One retired product, so filters on ``active`` have something to find.
            "active": category != "Other",
            "description": f"{name} ({category.lower()}).",
        }
        for name, code, category, price in PRODUCTS
    ]


async def _create_accounts(execute: Execute, rng: random.Random) -> list[Record]:
    """Top-level companies first, then subsidiaries that name one of them as parent."""
    names = [f"{start} {ending}" for start in NAME_STARTS for ending in SECTORS]
    top_rows = [
        _account_row(rng, name, SECTORS[name.split(" ", 1)[1]], rng.choice(PLACES))
        for name in rng.sample(names, TOP_ACCOUNTS)
    ]
    top = await _create_many(execute, "Account", "Accounts", top_rows)

    subsidiary_rows = []
    for parent in rng.sample(top, SUBSIDIARIES):
        place = rng.choice([p for p in PLACES if p.city != parent.data["billingCity"]])
        name = f"{parent.data['name']} {place.country}"
        row = _account_row(rng, name, parent.data["industry"], place)
        subsidiary_rows.append({**row, "parentAccountId": parent.id})
    return top + await _create_many(execute, "Account", "Accounts", subsidiary_rows)


def _account_row(rng: random.Random, name: str, industry: str, place: Place) -> Row:
    domain = name.lower().replace(" ", "") + ".example"
    kind = rng.choices(list(ACCOUNT_TYPES), weights=list(ACCOUNT_TYPES.values()))[0]
    return {
        "name": name,
        "industry": industry,
        "type": kind,
        "annualRevenue": _money(rng.randint(5, 5000) * 100_000, place.currency),
        "employees": rng.randint(8, 12_000),
        "website": f"https://www.{domain}",
        "phone": _phone(rng, place.dial),
        "email": f"info@{domain}",
        "billingStreet": f"{rng.randint(1, 200)} {rng.choice(STREETS)}",
        "billingCity": place.city,
        "billingPostalCode": str(rng.randint(10000, 99999)),
        "billingCountry": place.country,
        "description": f"{kind} in {industry}, based in {place.city}.",
    }


async def _create_contacts(
    execute: Execute, rng: random.Random, accounts: list[Record]
) -> list[Record]:
    """One head per account, then managers reporting to heads, then staff reporting to either.

    Each level is one request, since the next one needs its ids.
    """
    heads_rows = [_contact_row(rng, account, rng.choice(HEADS), None) for account in accounts]
    heads = await _create_many(execute, "Contact", "Contacts", heads_rows)
    head_of = {head.data["accountId"]: head for head in heads}

    manager_rows = []
    for account in rng.choices(accounts, k=MANAGERS):
        boss = head_of[account.id]
        manager_rows.append(_contact_row(rng, account, rng.choice(MANAGER_ROLES), boss))
    managers = await _create_many(execute, "Contact", "Contacts", manager_rows)

    staff_rows = []
    for account in rng.choices(accounts, k=STAFF):
        bosses = [m for m in managers if m.data["accountId"] == account.id]
        boss = rng.choice(bosses) if bosses else head_of[account.id]
        staff_rows.append(_contact_row(rng, account, rng.choice(STAFF_ROLES), boss))
    staff = await _create_many(execute, "Contact", "Contacts", staff_rows)
    return heads + managers + staff


def _contact_row(
    rng: random.Random, account: Record, role: tuple[str, str], boss: Record | None
) -> Row:
    first, salutation = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    domain = account.data["email"].split("@", 1)[1]
    row: Row = {
        "salutation": salutation,
        "firstName": first,
        "lastName": last,
        "email": f"{first}.{last}@{domain}".lower(),
        "phone": account.data["phone"][:-4] + str(rng.randint(1000, 9999)),
        "mobilePhone": _phone(rng, f"+{rng.randint(30, 49)} 17{rng.randint(0, 9)}"),
        "title": role[0],
        "department": role[1],
        "accountId": account.id,
        "birthday": _day(-rng.randint(25 * 365, 62 * 365)),
        "leadSource": rng.choice(LEAD_SOURCES),
        "doNotCall": rng.random() < 0.1,
        "mailingCity": account.data["billingCity"],
        "mailingCountry": account.data["billingCountry"],
    }
    if boss is not None:
        row["reportsToId"] = boss.id
    return row


def _lead_rows(rng: random.Random) -> list[Row]:
    rows = []
    for _ in range(LEADS):
        (first, _salutation), last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        ending = rng.choice(list(SECTORS))
        company = f"{last} {ending} {rng.choice(('Ltd', 'GmbH', 'Inc.', 'AB', 'SA'))}"
        domain = f"{last}{ending}".lower() + ".example"
        rows.append(
            {
                "firstName": first,
                "lastName": last,
                "company": company,
                "email": f"{first.lower()}@{domain}",
                "phone": _phone(rng, rng.choice(PLACES).dial),
                "website": f"www.{domain}",
                "status": rng.choice(LEAD_STATUSES),
                "source": rng.choice(LEAD_SOURCES),
                "rating": rng.randint(0, 5),
                "industry": SECTORS[ending],
                "companySize": rng.choice(COMPANY_SIZES),
                "notes": f"Met {first} through {rng.choice(LEAD_SOURCES).lower()}.",
            }
        )
    return rows


def _deal_rows(rng: random.Random, accounts: list[Record], products: list[Record]) -> list[Row]:
    rows = []
    weights = [weight for _stage, _probability, weight in STAGES]
    for _ in range(DEALS):
        account, product = rng.choice(accounts), rng.choice(products)
        stage, probability, _weight = rng.choices(STAGES, weights=weights)[0]
        quantity = rng.choice((1, 2, 5, 10, 25, 50))
        price = float(product.data["unitPrice"]["amount"])
        closed = stage.startswith("Closed")
        row: Row = {
            "name": f"{account.data['name']}: {product.data['name']} x{quantity}",
            "accountId": account.id,
            "productId": product.id,
            # Amounts are in the account's currency; the demo does not convert prices.
            "amount": _money(price * quantity, account.data["annualRevenue"]["currency"]),
            "stage": stage,
            "probability": str(probability),
            "expectedCloseDate": _day(-rng.randint(1, 180) if closed else rng.randint(7, 200)),
            "leadSource": rng.choice(LEAD_SOURCES),
        }
        if not closed:
            row["nextStep"] = rng.choice(NEXT_STEPS)
        rows.append(row)
    return rows


async def _link_deal_contacts(
    execute: Execute, rng: random.Random, deals: list[Record], contacts: list[Record],
    per_request: int,
) -> int:
    """Link each deal to one to three contacts of its account; returns the link count.

    ``linkDealContacts`` takes one deal, so several calls share one request under aliases.
    """
    by_account: dict[str, list[Record]] = {}
    for contact in contacts:
        by_account.setdefault(contact.data["accountId"], []).append(contact)
    links = []
    for deal in deals:
        people = by_account[deal.data["accountId"]]
        chosen = rng.sample(people, min(len(people), rng.randint(1, 3)))
        links.append((deal.id, [person.id for person in chosen]))

    for start in range(0, len(links), per_request):
        await execute(*_link_request(links[start : start + per_request]))
    return sum(len(ids) for _deal, ids in links)


def _link_request(links: Sequence[tuple[str, list[str]]]) -> tuple[str, Row]:
    params = ", ".join(f"$deal{i}: ID!, $contacts{i}: [ID!]!" for i in range(len(links)))
    fields = " ".join(
        f"link{i}: linkDealContacts(id: $deal{i}, ids: $contacts{i}) {{ id }}"
        for i in range(len(links))
    )
    variables: Row = {}
    for i, (deal, contacts) in enumerate(links):
        variables[f"deal{i}"], variables[f"contacts{i}"] = deal, contacts
    return f"mutation DemoLinkDealContacts({params}) {{ {fields} }}", variables


async def _create_tickets(
    execute: Execute, rng: random.Random, contacts: list[Record], products: list[Record]
) -> list[Record]:
    """Tickets raised by contacts, on the contact's account, about one product each."""
    rows = []
    for _ in range(TICKETS):
        contact, product = rng.choice(contacts), rng.choice(products)
        reporter = f"{contact.data['firstName']} {contact.data['lastName']}"
        rows.append(
            {
                "title": rng.choice(TICKET_SUBJECTS).format(product=product.data["name"]),
                "status": rng.choice(TICKET_STATUSES),
                "priority": rng.choice(TICKET_PRIORITIES),
                "severity": rng.choice(TICKET_SEVERITIES),
                "category": rng.choice(TICKET_CATEGORIES),
                "accountId": contact.data["accountId"],
                "contactId": contact.id,
                "productId": product.id,
                "description": f"Reported by {reporter}.",
            }
        )
    return await _create_many(execute, "Ticket", "Tickets", rows)


async def _create_comments(
    execute: Execute,
    rng: random.Random,
    accounts: list[Record],
    deals: list[Record],
    tickets: list[Record],
) -> list[Record]:
    targets = {"Account": accounts, "Deal": deals, "Ticket": tickets}
    rows = []
    for _ in range(COMMENTS):
        module = rng.choices(list(targets), weights=(2, 3, 2))[0]
        record = rng.choice(targets[module])
        rows.append(
            {
                "body": rng.choice(COMMENT_BODIES[module]),
                "relatedTo": {"module": module, "id": record.id},
            }
        )
    return await _create_many(execute, "Comment", "Comments", rows)
