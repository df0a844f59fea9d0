"""The main job through the real `coliseum` command: its summary line matches the database."""

from __future__ import annotations

import re

from dagster import RunsFilter

from dagster_project.app.runner import dagster_instance
from dagster_project.contract import BOARD_NAMES
from tests.support.database import settings_for
from tests.support.helpers import run_cli


def coliseum(settings, *args: str) -> str:
    done = run_cli(settings, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_main_job_summary_matches_database(database, tmp_path):
    settings = settings_for(database.url, tmp_path)  # its own home and DAGSTER_HOME
    coliseum(settings, "init-db")
    coliseum(settings, "generate", "--events", "3000", "--days", "10", "--seed", "3")
    out = coliseum(settings, "run")
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
    with dagster_instance(settings) as instance:
        runs = instance.get_runs(RunsFilter(tags={"coliseum/launched_by": "cli"}))
        assert len(runs) == 3 and all(r.is_success for r in runs)  # daily, windows, publish
