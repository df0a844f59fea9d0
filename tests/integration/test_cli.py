"""The main job through the real `coliseum` command: its summary line matches the database."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from dagster import DagsterInstance, RunsFilter

from dagster_project.publish import BOARD_NAMES

COLISEUM = str(Path(sys.executable).parent / "coliseum")


def coliseum(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([COLISEUM, *args], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_main_job_summary_matches_database(database, tmp_path, monkeypatch):
    env = {
        **os.environ,
        "COLISEUM_DATABASE_URL": database.url,
        "COLISEUM_HOME": str(tmp_path),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    coliseum(env, "init-db")
    coliseum(env, "generate", "--events", "3000", "--days", "10", "--seed", "3")
    out = coliseum(env, "run")
    match = re.search(
        r"as of (\S+): (\d+) entries read over (\d+) day\(s\), (\d+) mutations written, (\d+) artists ranked",
        out,
    )
    assert match, out
    as_of, read, days, written, ranked = match.groups()
    for name in BOARD_NAMES:
        assert f"\n{name}\n" in out
    assert database.query("select count(*) from public.passport_entries") == [(int(read),)]
    assert database.query("select count(*) from coliseum.coliseum_dna_mutations") == [(int(written),)]
    assert database.query("select count(distinct entity_id) from public.coliseum_domain_strength") == [(int(ranked),)]
    assert database.query("select distinct as_of_date::text from public.coliseum_leaderboard_a_alltime") == [(as_of,)]
    assert int(days) == 10
    # The runs live in DAGSTER_HOME, where `coliseum ui` shows them.
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    with DagsterInstance.get() as instance:
        runs = instance.get_runs(RunsFilter(tags={"coliseum/launched_by": "cli"}))
        assert len(runs) == 3 and all(r.is_success for r in runs)  # daily, windows, publish
