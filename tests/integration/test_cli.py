"""The real `coliseum` command: its summary matches the database, its output reads like a report, and every
bad input is one line naming the problem with a non-zero exit."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pytest
from dagster import RunsFilter

from dagster_project.app.runner import dagster_instance
from dagster_project.contract import BOARD_NAMES
from dagster_project.settings import Settings
from tests.support.database import settings_for
from tests.support.helpers import run_cli

# What dbt prints per node, and a terminal colour code: neither belongs in a report piped to a file.
DBT_NODE_LINE = re.compile(r"\d+ of \d+ (START|OK|PASS)")
ANSI = "\x1b["


def coliseum(settings, *args: str) -> str:
    done = run_cli(settings, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_main_job_summary_matches_database(database, tmp_path):
    settings = settings_for(database.url, tmp_path)  # its own home and DAGSTER_HOME
    coliseum(settings, "init-db")
    coliseum(settings, "generate", "--events", "3000", "--days", "10", "--seed", "3")
    done = run_cli(settings, "run")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
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
    # A report: progress lines with the elapsed time (one per run started and finished), no dbt node lines,
    # no colour codes, nothing on stderr but alerts.
    progress = re.findall(r"^\[ *(\d+\.\d) s\] (.*)$", out, re.M)
    assert [line for _t, line in progress if line.strip().endswith(": ok") or "ok (" in line], out
    assert [float(t) for t, _line in progress] == sorted(float(t) for t, _line in progress)
    assert not DBT_NODE_LINE.search(out) and ANSI not in out and ANSI not in done.stderr
    assert all(line.startswith("ALERT") or "alert(s) written" in line for line in done.stderr.splitlines())
    # The runs live in DAGSTER_HOME, where `coliseum ui` shows them.
    with dagster_instance(settings) as instance:
        runs = instance.get_runs(RunsFilter(tags={"coliseum/launched_by": "cli"}))
        assert len(runs) == 3 and all(r.is_success for r in runs)  # daily, windows, publish


@pytest.mark.parametrize(
    ("args", "variables", "code", "message"),
    [
        (("generate", "--events", "-5"), {}, 2, "argument --events: -5 is below the minimum of 1"),
        (("run", "--to", "2026-11-20"), {}, 2, "--to needs --date"),
        (("run", "--date", "2024-12-31"), {}, 2, "--date 2024-12-31 is outside the partitions: pick a day from"),
        (("run", "--date", "2026-11-20", "--to", "2026-11-19"), {}, 2, "--date 2026-11-20 is after --to 2026-11-19"),
        (("run", "--date", "2026-13-01"), {}, 2, "argument --date: '2026-13-01' is not a YYYY-MM-DD date"),
        (("verify",), {"COLISEUM_DATABASE_URL": "nonsense"}, 2, "COLISEUM_DATABASE_URL is not a valid Postgres URL"),
        (("verify",), {"COLISEUM_DATABASE_URL": "postgresql://u@127.0.0.1:9/x"}, 1, "cannot reach the database"),
        (("init-db",), {"COLISEUM_SCHEDULE_HOUR": "25"}, 2, "COLISEUM_SCHEDULE_HOUR=25 must be 0-23"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(database, tmp_path, args, variables, code, message):
    settings = settings_for(database.url, tmp_path)
    done = run_cli(settings, *args, extra=variables)
    assert done.returncode == code, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    if code == 1:  # a failure (not an input) can be shown with its traceback
        debug = run_cli(settings, *args, "--debug", extra=variables)
        assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_help_lists_every_command_and_every_default(database, tmp_path):
    settings = settings_for(database.url, tmp_path)
    top = coliseum(settings, "--help")
    for name in ("init-db", "generate", "run", "late-days", "verify", "ui", "db"):
        assert re.search(rf"^\s+{name}\s+\w", top, re.M) or re.search(rf"^\s+{name}\n\s+\w", top, re.M), name
    generate = coliseum(settings, "generate", "--help")
    assert "(default: 100000)" in generate and "(default: 30)" in generate and "(default: yesterday)" in generate
    assert "(default: 3000)" in coliseum(settings, "ui", "--help")


def test_db_status_and_stop_on_the_embedded_server():
    # Not under pytest's tmp_path: the server runs as its own system user (tests/integration/conftest.py).
    home = Path(tempfile.mkdtemp(prefix="coliseum-test-home-"))
    settings = Settings.from_env({"COLISEUM_HOME": str(home)})
    try:
        assert "not running" in coliseum(settings, "db", "status")
        coliseum(settings, "init-db")  # starts the embedded server, which keeps running
        assert re.search(r"running, pid \d+", coliseum(settings, "db", "status"))
        assert "stopped" in coliseum(settings, "db", "stop")
        assert "not running" in coliseum(settings, "db", "status")
        assert "was not running" in coliseum(settings, "db", "stop")
    finally:
        run_cli(settings, "db", "stop")
        shutil.rmtree(home, ignore_errors=True)


def test_db_commands_leave_a_server_of_its_own_alone(database, tmp_path):
    out = coliseum(settings_for(database.url, tmp_path), "db", "stop")
    assert "not the embedded database" in out
    assert database.query("select 1") == [(1,)]
