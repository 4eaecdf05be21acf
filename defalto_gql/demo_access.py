"""Demo users in several roles, so a newcomer can see the access model at work.

Every demo user signs in with the password ``DEMO_PASSWORD``. The role tree:

    Director
    ├── Sales Manager
    │   ├── Sales East      east@demo.defalto.local
    │   └── Sales West      west@demo.defalto.local
    └── Support             support@demo.defalto.local

with manager@demo.defalto.local as Sales Manager and director@demo.defalto.local as
Director. Deals and leads are private: each sales rep sees their own, the manager
sees both reps', the director everything below. Accounts, contacts and products
are readable by all; tickets are shared read-write.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from defalto_gql.access import management
from defalto_gql.access.users import create_user

DEMO_PASSWORD = "defalto-demo"
SALES = {"Account": ["view", "create", "edit", "export"],
         "Contact": ["view", "create", "edit", "import", "export"],
         "Lead": ["view", "create", "edit", "delete", "import", "export"],
         "Deal": ["view", "create", "edit", "export"],
         "Product": ["view"], "Ticket": ["view"], "Comment": ["view", "create"]}
SUPPORT = {"Account": ["view"], "Contact": ["view", "edit"], "Product": ["view"],
           "Ticket": ["view", "create", "edit", "delete"], "Comment": ["view", "create"]}
DEFAULTS = {"Account": "public_read", "Contact": "public_read", "Product": "public_read",
            "Comment": "public_read", "Ticket": "public_read_write", "Deal": "private",
            "Lead": "private"}
USERS = [("director", "Dana Director", "Director"), ("manager", "Max Manager", "Sales Manager"),
         ("east", "Erin East", "Sales East"), ("west", "Wes West", "Sales West"),
         ("support", "Sam Support", "Support")]


async def create_demo_access(conn: AsyncConnection) -> None:
    """Roles, profiles, defaults and users of the demo, and deals and leads spread over reps."""
    await management.create_role(conn, "Director", None)
    for role, parent in (("Sales Manager", "Director"), ("Sales East", "Sales Manager"),
                         ("Sales West", "Sales Manager"), ("Support", "Director")):
        await management.create_role(conn, role, parent)
    for profile, rights in (("Sales", SALES), ("Support", SUPPORT)):
        await management.create_profile(conn, profile)
        for module, actions in rights.items():
            await management.set_module_rights(conn, profile, module, actions)
    # Sales reps see an account's revenue but cannot change it.
    await management.set_field_access(conn, "Sales", "Account", "annualRevenue", "read_only")
    for role in ("Director", "Sales Manager", "Sales East", "Sales West"):
        await management.assign_profiles(conn, role, ["Sales"])
    await management.assign_profiles(conn, "Support", ["Support"])
    for module, access in DEFAULTS.items():
        await management.set_module_default(conn, module, access)
    ids = {}
    for login, name, role in USERS:
        ids[login] = await create_user(conn, email=f"{login}@demo.defalto.local", name=name,
                                       password=DEMO_PASSWORD, role=role)
    for table in ("m_deal", "m_lead"):
        await conn.exec_driver_sql(
            # Alternate by record number, so the split is the same on every machine.
            f"UPDATE {table} SET owner_id = CASE WHEN substring(record_number from '[0-9]+$')::int"
            " % 2 = 0 THEN $1::uuid ELSE $2::uuid END", (ids["east"], ids["west"]),
        )
