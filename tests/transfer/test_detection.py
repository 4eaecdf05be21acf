"""Duplicate detection by similarity: typos found, blocking, thresholds, bad choices refused."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from defalto_gql.transfer.detection import similarity
from defalto_gql.transfer.mapping import MappingError
from tests.conftest import Api
from tests.transfer.conftest import csv_file, run_import

HEADER = "First name,Last name,Birthday,Mailing postal code\n"
PEOPLE = HEADER + ("kayla,harrington,1915-06-12,3465\n"
                   "lachlan,berry,1999-02-19,4814\n")
# Typos in the names and a digit off in the postcode; the birthday blocks them together.
TYPOS = HEADER + ("kayla,harringtn,1915-06-12,3456\n"
                  "lachlan,bery,1999-02-19,4814\n"
                  "deakin,sondergeld,1960-02-10,2776\n")
DETECT = ("firstName", "lastName", "birthday", "mailingPostalCode")


async def total(api: Api) -> int:
    found = await api.query("{ contacts { totalCount } }")
    count: int = found["contacts"]["totalCount"]
    return count


def test_the_similarity_rule() -> None:
    assert similarity("harrington", "harrington") == 1.0
    assert similarity("harrington", "harringtn") > 0.9
    # Digits: one wrong digit in four costs a quarter
    assert similarity("4011", "4012") == pytest.approx(0.75)
    assert similarity("smith", "jones") < 0.5


async def test_rows_resembling_existing_records_are_detected_and_skipped(
    api: Api, tmp_path: Path
) -> None:
    await run_import(api, "Contact", csv_file(tmp_path, PEOPLE))
    notes = tmp_path / "dups.csv"

    report = await run_import(api, "Contact", csv_file(tmp_path, TYPOS), detect=DETECT,
                              detect_block=("birthday",), duplicates=notes)

    assert (report.created, report.skipped, report.detected) == (1, 2, 2)
    assert [note.line for note in report.duplicates] == [2, 3]
    assert all(note.number and note.number.startswith("CON-") for note in report.duplicates)
    assert all(note.score is not None and 0.8 <= note.score < 1 for note in report.duplicates)
    assert len(notes.read_text(encoding="utf-8").splitlines()) == 3
    assert await total(api) == 3


async def test_earlier_rows_of_the_same_file_count_even_in_one_batch(
    api: Api, tmp_path: Path
) -> None:
    path = csv_file(tmp_path, PEOPLE + TYPOS.removeprefix(HEADER))

    dry = await run_import(api, "Contact", path, detect=DETECT, dry_run=True)
    real = await run_import(api, "Contact", path, detect=DETECT)

    assert (dry.created, dry.skipped, dry.detected) == (3, 2, 2)
    assert (real.created, real.skipped, real.detected) == (3, 2, 2)
    assert [n.existing for n in dry.duplicates] == ["line 2", "line 3"]
    assert await total(api) == 3


async def test_importing_twice_with_detection_leaves_the_same_records(
    api: Api, tmp_path: Path
) -> None:
    path = csv_file(tmp_path, PEOPLE)

    await run_import(api, "Contact", path, detect=DETECT, batch_size=1)
    again = await run_import(api, "Contact", path, detect=DETECT, batch_size=1)

    assert (again.created, again.skipped, again.detected) == (0, 2, 2)
    assert all(note.score == 1.0 for note in again.duplicates)
    assert await total(api) == 2


async def test_a_detected_duplicate_is_merged(api: Api, tmp_path: Path) -> None:
    await run_import(api, "Contact", csv_file(tmp_path, PEOPLE))
    path = csv_file(tmp_path, HEADER.strip() + ",Title\nkayla,harringtn,1915-06-12,3465,Nurse\n")

    report = await run_import(api, "Contact", path, detect=DETECT, on_duplicate="merge")

    assert (report.merged, report.detected) == (1, 1)
    assert report.duplicates[0].filled == ("title",)
    assert report.duplicates[0].conflicts == ("lastName",)
    found = await api.query('{ contacts(filter: {title: {eq: "Nurse"}}) '
                            "{ edges { node { lastName } } } }")
    assert found["contacts"]["edges"] == [{"node": {"lastName": "harrington"}}]


async def test_a_higher_threshold_finds_fewer(api: Api, tmp_path: Path) -> None:
    await run_import(api, "Contact", csv_file(tmp_path, PEOPLE))

    strict = await run_import(api, "Contact", csv_file(tmp_path, TYPOS), detect=DETECT,
                              detect_threshold=0.99, dry_run=True)

    assert (strict.created, strict.detected) == (3, 0)


async def test_the_mapping_file_can_ask_for_detection(api: Api, tmp_path: Path) -> None:
    await run_import(api, "Contact", csv_file(tmp_path, PEOPLE))

    report = await run_import(api, "Contact", csv_file(tmp_path, TYPOS), dry_run=True,
                              mapping={"detect": {"fields": list(DETECT), "threshold": 0.8,
                                                  "block": ["birthday"]}})

    assert report.detected == 2


@pytest.mark.parametrize(("options", "message"), [
    ({"detect": ("shoeSize",)}, "cannot compare 'shoeSize': Contact has no such field"),
    ({"detect": ("email",)}, "cannot compare email: no column of the file fills it"),
    ({"detect": DETECT, "detect_block": ("title",)}, "cannot block on title"),
    ({"detect": DETECT, "detect_threshold": 1.5}, "at most 1, not 1.5"),
    ({"detect": DETECT, "detect_threshold": 0.0}, "above 0"),
    ({"detect_block": ("birthday",)}, "need detection fields"),
    ({"on_duplicate": "replace"}, "'replace' is not one of skip, update, merge"),
])
async def test_bad_detection_choices_stop_the_import_before_any_row(
    api: Api, tmp_path: Path, options: dict[str, object], message: str
) -> None:
    with pytest.raises(MappingError, match=message):
        await run_import(api, "Contact", csv_file(tmp_path, PEOPLE), **options)
    assert await total(api) == 0


async def test_rejected_rows_are_reported_in_file_order_also_after_waiting(
    api: Api, tmp_path: Path
) -> None:
    # No surname on any line; line 3 resembles line 2, so it waits for line 2 to be
    # written (which it never is) and is rejected a round after line 4.
    path = csv_file(tmp_path, HEADER + ("kayla,,1915-06-12,3465\n"
                                        "kayla,,1915-06-12,3465\n"
                                        "deakin,,1960-02-10,2776\n"))

    report = await run_import(api, "Contact", path, detect=DETECT)

    assert [p.line for p in report.problems] == [2, 3, 4]
    assert report.rejected == 3


async def test_rows_are_compared_off_the_event_loop(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Comparing a batch with many candidates takes long; the server's requests and the
    # job worker's heartbeat must go on meanwhile, so it runs in another thread
    from defalto_gql.transfer.detection import Detector

    threads: list[int] = []
    compare = Detector._compare

    def recorded(self: Detector, *args: Any) -> None:
        threads.append(threading.get_ident())
        compare(self, *args)

    monkeypatch.setattr(Detector, "_compare", recorded)
    await run_import(api, "Contact", csv_file(tmp_path, TYPOS), detect=DETECT)

    assert threads and threading.get_ident() not in threads
