"""Imports into one module take turns, so a match rule holds across imports run at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa

from defalto_gql.transfer.locks import LockCycle, module_lock
from tests.conftest import Api
from tests.transfer.conftest import csv_file, run_import

ROWS = 600


async def stored(api: Api) -> tuple[int, int]:
    """Contacts, and distinct emails among them."""
    table = api.runtime.generation().model.tables.of("Contact")
    async with api.engine.connect() as conn:
        found = await conn.execute(sa.select(sa.func.count(), sa.func.count(
            sa.distinct(table.c.email))).select_from(table))
        total, distinct = found.one()
    return int(total), int(distinct)


async def test_two_imports_of_one_file_at_once_with_a_match_rule_make_no_duplicates(
    api: Api, tmp_path: Path
) -> None:
    # Given one file with a key per row, in small batches so the two runs interleave
    path = csv_file(tmp_path, "Last name,Email\n" + "".join(
        f"P{i},p{i}@example.com\n" for i in range(ROWS)))

    # When it is imported twice at the same time, matching on email
    first, second = await asyncio.gather(*(
        run_import(api, "Contact", path, match=("email",), batch_size=50) for _ in range(2)))

    # Then one run created every record and the other skipped every row
    assert sorted([first.created, second.created]) == [0, ROWS]
    assert first.skipped + second.skipped == ROWS
    assert await stored(api) == (ROWS, ROWS)


async def test_a_dry_run_takes_no_lock(api: Api, tmp_path: Path) -> None:
    path = csv_file(tmp_path, "Last name\nA\n")

    # While another import holds the module's lock, a dry run still goes through
    async with module_lock(api.engine, "Contact"):
        report = await asyncio.wait_for(run_import(api, "Contact", path, dry_run=True), 10)
        waiting = asyncio.create_task(run_import(api, "Contact", path))
        await asyncio.sleep(0.5)
        assert not waiting.done()

    # and a real one waits for the lock, then runs
    assert report.created == 1
    assert (await waiting).created == 1
    assert await stored(api) == (1, 0)


async def test_imports_into_two_modules_making_the_same_targets_make_each_once(
    api: Api, tmp_path: Path
) -> None:
    # Given contacts and deals naming the same new accounts, in small batches
    names = [f"Shared {i}" for i in range(200)]
    people = csv_file(tmp_path, "Last name,Account\n" + "".join(
        f"P{i},{name}\n" for i, name in enumerate(names)))
    deals = csv_file(tmp_path, "Deal name,Sales stage,Account\n" + "".join(
        f"D{i},Prospecting,{name}\n" for i, name in enumerate(reversed(names))))
    create = {"references": {"account": {"create": True}}}

    # When both are imported at the same time, each allowed to create accounts
    first, second = await asyncio.gather(
        run_import(api, "Contact", people, mapping=create, batch_size=20),
        run_import(api, "Deal", deals, mapping=create, batch_size=20))

    # Then every account exists once, and the two runs together created each once
    assert (first.rejected, second.rejected) == (0, 0), (first.problems, second.problems)
    table = api.runtime.generation().model.tables.of("Account")
    async with api.engine.connect() as conn:
        total, distinct = (await conn.execute(sa.select(
            sa.func.count(), sa.func.count(sa.distinct(table.c.name))).select_from(table))).one()
    assert (total, distinct) == (200, 200)
    made = first.targets_created.get("Account", 0) + second.targets_created.get("Account", 0)
    assert made == 200


async def waiting_for_a_lock(api: Api) -> bool:
    async with api.engine.connect() as conn:
        found = await conn.execute(sa.text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"))
        return bool(found.scalar())


async def test_imports_making_targets_in_each_others_modules_do_not_wait_for_ever(
    api: Api, tmp_path: Path
) -> None:
    # Given an import into Contact that must create an account, while another import
    # holds Account's lock and will want Contact's: each waits for the other
    path = csv_file(tmp_path, "Last name,Account\nA,Brand new\nB,\n")
    create = {"references": {"account": {"create": True}}}
    async with module_lock(api.engine, "Account") as other:
        contacts = asyncio.create_task(run_import(api, "Contact", path, mapping=create))
        for _ in range(100):
            if await waiting_for_a_lock(api):
                break
            await asyncio.sleep(0.05)

        # When the other import asks for Contact's lock (holding Account's)
        try:
            async with asyncio.timeout(30), other.also("Contact"):
                failed_here = False
        except LockCycle:
            failed_here = True
        report = await asyncio.wait_for(contacts, 30) if not failed_here else None

    # Then PostgreSQL fails one of the two waits: here, or in the import, which
    # then rejects the row naming the account, saying why, and writes the other
    if report is None:
        report = await asyncio.wait_for(contacts, 30)
        assert (report.created, report.rejected) == (2, 0)
    else:
        assert (report.created, report.rejected) == (1, 1)
        assert report.problems[0].line == 2
        assert "an import into Account is running and waiting for this one" in (
            report.problems[0].reason)
