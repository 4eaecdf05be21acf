"""``defalto import`` and ``defalto export`` as a user runs them, on a scratch database."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import drop_database, scratch_database
from tests.processes import DEFALTO, environment


def defalto(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DEFALTO, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=180, check=False)


@pytest.fixture
async def scratch_url(server_url: str) -> AsyncIterator[str]:
    url = await scratch_database(server_url)
    yield url
    await drop_database(server_url, url)


def test_import_reports_rows_writes_rejects_and_export_prints_csv(
    scratch_url: str, tmp_path: Path
) -> None:
    env = environment(DEFALTO_DATABASE_URL=scratch_url)
    source = tmp_path / "people.csv"
    source.write_text("Last name;Email;Phone\nAda;ada@example.com;+1-532-344-1362\n"
                      ";nobody@example.com;\n", encoding="utf-8")
    rejects = tmp_path / "rejects.csv"

    dry = defalto("import", "contacts", str(source), "--dry-run", "--no-progress",
                  env=env, cwd=tmp_path)
    real = defalto("import", "Contact", str(source), "--rejects", str(rejects), "--match",
                   "email", env=env, cwd=tmp_path)
    again = defalto("import", "Contact", str(source), "--match", "email", "--no-progress",
                    env=env, cwd=tmp_path)
    exported = defalto("export", "Contact", "--fields", "lastName,email,phone", env=env,
                       cwd=tmp_path)
    missing = defalto("import", "Contact", str(tmp_path / "nope.csv"), env=env, cwd=tmp_path)

    assert dry.returncode == 1, dry.stderr
    assert "1 would be created" in dry.stderr and "line 3: Last name: is required" in dry.stderr
    assert real.returncode == 1 and "1 were created" in real.stderr
    assert rejects.read_text(encoding="utf-8").splitlines()[1].endswith(
        ",3,Last name: is required")
    assert "1 skipped as duplicates" in again.stderr
    assert exported.returncode == 0, exported.stderr
    # (text=True reads CRLF line ends as \n)
    assert exported.stdout == ("Last name,Email,Office phone\n"
                               "Ada,ada@example.com,'+1-532-344-1362\n")
    assert missing.returncode == 2 and "error:" in missing.stderr


def test_a_file_that_cannot_be_read_stops_before_the_database_is_set_up(
    scratch_url: str, tmp_path: Path
) -> None:
    env = environment(DEFALTO_DATABASE_URL=scratch_url)
    source = tmp_path / "people.csv"
    source.write_text("Last name\nLovelace\n", encoding="utf-8")

    runs = [defalto("import", "Contact", str(tmp_path / "nope.csv"), env=env, cwd=tmp_path),
            defalto("import", "Contact", str(tmp_path), env=env, cwd=tmp_path),
            defalto("import", "Contact", str(source), "--mapping", str(tmp_path / "no.json"),
                    env=env, cwd=tmp_path)]
    first = defalto("import", "Contact", str(source), "--no-progress", env=env, cwd=tmp_path)

    for run in runs:
        assert run.returncode == 2 and "Traceback" not in run.stderr
        assert "Created the administrator" not in run.stderr
    assert f"error: cannot read {tmp_path / 'nope.csv'}: No such file" in runs[0].stderr
    assert "Is a directory" in runs[1].stderr and "no.json" in runs[2].stderr
    # The administrator is made (and its password shown) by the first import that runs
    assert first.returncode == 0 and "Created the administrator" in first.stderr


def test_bad_rules_filters_and_encodings_are_clear_errors_not_tracebacks(
    scratch_url: str, tmp_path: Path
) -> None:
    env = environment(DEFALTO_DATABASE_URL=scratch_url)
    source = tmp_path / "people.csv"
    source.write_text("Last name\nLovelace\n", encoding="utf-8")
    bad_rules = ['{"columns": ["a"]}', '{"detect": {"fields": ["lastName"], "threshold": "high"}}',
                 '{"references": {"account": true}}', '{"unknownKey": 1}',
                 '{"extendPicklists": "yes"}']
    runs = []
    for index, rules in enumerate(bad_rules):
        mapping = tmp_path / f"rules{index}.json"
        mapping.write_text(rules, encoding="utf-8")
        runs.append(defalto("import", "Contact", str(source), "--mapping", str(mapping),
                            "--no-progress", env=env, cwd=tmp_path))
    runs.append(defalto("import", "Contact", str(source), "--encoding", "bogus",
                        "--no-progress", env=env, cwd=tmp_path))
    runs.append(defalto("import", "Contact", str(source), "--encoding", "rot13",
                        "--no-progress", env=env, cwd=tmp_path))
    runs.append(defalto("export", "Contact", "--filter", "{bad json", env=env, cwd=tmp_path))
    runs.append(defalto("export", "Contact", "--filter", "[1,2]", env=env, cwd=tmp_path))
    runs.append(defalto("export", "Contact", "--filter", '{"email": {"endsWith": "x"}}',
                        env=env, cwd=tmp_path))
    runs.append(defalto("export", "Contact", "--fields", "lastName,nope", env=env, cwd=tmp_path))
    runs.append(defalto("import", "Contact", str(source), "--encoding", "undefined",
                        "--no-progress", env=env, cwd=tmp_path))
    runs.append(defalto("export", "Contact", "--filter", "[" * 5000 + "]" * 5000, env=env,
                        cwd=tmp_path))
    runs.extend(defalto("import", "Contact", str(source), "--delimiter", delimiter,
                        "--no-progress", env=env, cwd=tmp_path) for delimiter in ("a", '"'))
    runs.append(defalto("import", "Contact", str(source), "--on-duplicate", "update",
                        "--no-progress", env=env, cwd=tmp_path))
    runs.append(defalto("import", "Contact", str(source), "--batch-size", "0",
                        "--no-progress", env=env, cwd=tmp_path))
    runs.append(defalto("export", "Contact", "--fields", "lastName,email,lastName", env=env,
                        cwd=tmp_path))
    runs.append(defalto("export", "Contact", "--filter", '{"createdAt": {"gt": "2023-01-01"}}',
                        env=env, cwd=tmp_path))

    for run in runs:
        assert run.returncode == 2, run.stderr
        assert run.stdout == "", "a refused export writes no CSV at all"
        assert "Traceback" not in run.stderr
        assert run.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "unknown encoding 'bogus'" in runs[5].stderr
    assert "--filter is not JSON" in runs[7].stderr
    assert "--filter must be one JSON object" in runs[8].stderr
    # As the contacts list query refuses the same filter
    assert "filter has invalid value at .email: Expected value of type 'StringFilter' not to " \
        "include unknown field 'endsWith'" in runs[9].stderr
    assert "has no field 'nope'" in runs[10].stderr
    assert "'undefined' is not a text encoding" in runs[11].stderr
    assert "--filter nests too deeply" in runs[12].stderr
    assert "not 'a'" in runs[13].stderr and "not '\"'" in runs[14].stderr
    assert "say how duplicates are found" in runs[15].stderr
    assert "the batch size must be at least 1, not 0" in runs[16].stderr
    assert "error: fields names each field once, not lastName twice" in runs[17].stderr
    assert "error: filter on createdAt: needs a time zone offset" in runs[18].stderr
    exported = defalto("export", "Contact", env=env, cwd=tmp_path)
    assert exported.stdout.count("\n") == 1


def test_a_report_path_that_cannot_be_written_stops_the_import_before_any_row(
    scratch_url: str, tmp_path: Path
) -> None:
    env = environment(DEFALTO_DATABASE_URL=scratch_url)
    source = tmp_path / "people.csv"
    source.write_text("Last name\nLovelace\n", encoding="utf-8")

    missing = defalto("import", "Contact", str(source), "--report",
                      str(tmp_path / "nope" / "r.json"), "--no-progress", env=env, cwd=tmp_path)
    folder = defalto("import", "Contact", str(source), "--report", str(tmp_path),
                     "--no-progress", env=env, cwd=tmp_path)
    exported = defalto("export", "Contact", "--fields", "lastName", env=env, cwd=tmp_path)

    assert (missing.returncode, folder.returncode) == (2, 2), missing.stderr + folder.stderr
    assert "error:" in missing.stderr and "error:" in folder.stderr
    assert "Traceback" not in missing.stderr + folder.stderr
    assert exported.stdout == "Last name\n"


def test_a_failed_export_leaves_the_output_file_as_it_was(scratch_url: str, tmp_path: Path
                                                          ) -> None:
    env = environment(DEFALTO_DATABASE_URL=scratch_url)
    out = tmp_path / "out.csv"
    out.write_text("what was there\n", encoding="utf-8")

    failed = defalto("export", "Contact", "--fields", "shoeSize", "-o", str(out), env=env,
                     cwd=tmp_path)
    done = defalto("export", "Contact", "--fields", "lastName", "-o", str(tmp_path / "new.csv"),
                   env=env, cwd=tmp_path)

    assert failed.returncode == 2 and "shoeSize" in failed.stderr
    assert out.read_text(encoding="utf-8") == "what was there\n"
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "new.csv").read_bytes() == b"Last name\r\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.csv", "out.csv"]
    nowhere = defalto("export", "Contact", "-o", str(tmp_path / "no" / "x.csv"), env=env,
                      cwd=tmp_path)
    assert nowhere.returncode == 2
    assert nowhere.stderr.strip().splitlines()[-1] == \
        f"error: cannot write {tmp_path / 'no' / 'x.csv'}: No such file or directory"
    folder = defalto("export", "Contact", "-o", str(tmp_path), env=env, cwd=tmp_path)
    assert folder.returncode == 2
    assert folder.stderr.strip().splitlines()[-1] == \
        f"error: cannot write {tmp_path}: it is a folder; name a file"


async def test_import_uses_a_mapping_saved_through_the_api(
    scratch_url: str, tmp_path: Path
) -> None:
    import json

    from defalto_gql.access.users import SYSTEM_USER_ID
    from defalto_gql.db.engine import make_engine

    env = environment(DEFALTO_DATABASE_URL=scratch_url)
    assert defalto("migrate", env=env, cwd=tmp_path).returncode == 0
    engine = make_engine(scratch_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql(
                "INSERT INTO dg_import_mappings (module, name, rules, created_by) "
                "VALUES ('Contact', 'crm', $1::jsonb, $2)",
                (json.dumps({"columns": {"Surname": "lastName", "Shoe": None}}),
                 SYSTEM_USER_ID))
    finally:
        await engine.dispose()
    source = tmp_path / "people.csv"
    source.write_text("Surname,Shoe\nLovelace,38\n", encoding="utf-8")

    used = defalto("import", "Contact", str(source), "--mapping-name", "crm", "--no-progress",
                   env=env, cwd=tmp_path)
    unknown = defalto("import", "Contact", str(source), "--mapping-name", "nope",
                      "--no-progress", env=env, cwd=tmp_path)
    both = defalto("import", "Contact", str(source), "--mapping-name", "crm", "--mapping",
                   str(source), "--no-progress", env=env, cwd=tmp_path)

    assert used.returncode == 0, used.stderr
    assert "1 were created" in used.stderr and "columns ignored: Shoe" in used.stderr
    assert unknown.returncode == 2 and "no saved Contact mapping named 'nope'" in unknown.stderr
    assert both.returncode == 2 and "not both" in both.stderr
