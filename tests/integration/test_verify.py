"""`coliseum verify` on a matching database, then on a drifted one; coliseum_metrics as a legacy view."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from dagster_project.cli import main
from dagster_project.generate import generate
from dagster_project.runner import run_pipeline
from tests.conftest import AS_OF
from tests.helpers import follow, new_id


@pytest.fixture(scope="module")
def built(database):
    with database.connect() as conn:
        generate(conn, database.settings, events=1500, days=8, seed=17, end_date=AS_OF)
    return run_pipeline(database.url, database.settings, [AS_OF], database.instance)


def run_verify(capsys) -> tuple[int, dict]:
    code = main(["verify", "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_coliseum_metrics_is_the_legacy_view_over_mutations(database, built):
    rows = database.query(
        "select metric_type, count(*), sum(metric_value) from public.coliseum_metrics group by 1 order by 1"
    )
    expected = database.query(
        "select 'dna_' || lower(domain), count(*), sum(effective_delta) from public.coliseum_dna_mutations "
        "group by 1 order by 1"
    )
    assert rows == expected and len(rows) == 4


def test_verify_passes_on_a_matching_database(database, built, capsys):
    code, report = run_verify(capsys)
    assert code == 0, report
    statuses = {f["object"]: f["status"] for f in report["findings"]}
    assert statuses["public.coliseum_leaderboard_a_7d"] == "ok"
    assert statuses["public.artist_revenue_summary"] == "ok"
    assert statuses["public.coliseum_entitlements"] == "ok"
    assert statuses["public.coliseum_get_artist_dna(uuid)"] == "ok"
    assert statuses["public.passport_entries"] == "ok"
    assert statuses["last run"] == "ok"


def test_verify_reports_drift(database, built, capsys):
    now = datetime.now(UTC)
    with database.connect() as conn:
        conn.execute("drop view public.coliseum_leaderboard_c_30d")
        conn.execute("alter view public.coliseum_leaderboard_a_7d rename column score to points")
        conn.execute("drop function public.coliseum_get_artist_dna(uuid)")
        conn.execute("update coliseum.coliseum_publications set published_at = %s", (now - timedelta(days=3),))
        follow(conn, new_id(), new_id(), now - timedelta(minutes=1))
    code, report = run_verify(capsys)
    assert code == 1
    findings = {f["object"]: f for f in report["findings"]}
    assert findings["public.coliseum_leaderboard_c_30d"]["status"] == "missing"
    assert findings["public.coliseum_leaderboard_a_7d"]["status"] == "wrong_columns"
    assert "column score missing" in findings["public.coliseum_leaderboard_a_7d"]["detail"]
    assert findings["public.coliseum_get_artist_dna(uuid)"]["status"] == "missing"
    assert findings["public.coliseum_revenue_per_fan(uuid, text, text)"]["status"] == "ok"
    assert findings["freshness"]["status"] == "stale"
    assert not report["ok"]
    assert findings["public.coliseum_leaderboard_t_7d"]["status"] == "ok"
