"""`coliseum verify` on a matching database, then on a drifted one; coliseum_metrics as a legacy view."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from dagster_project.app.cli import main
from dagster_project.app.runner import run_pipeline
from dagster_project.app.verify import verify
from dagster_project.devtools.generate import generate
from tests.support.database import AS_OF
from tests.support.helpers import follow, new_id


@pytest.fixture(scope="module")
def built(database):
    with database.connect() as conn:
        generate(conn, database.settings, events=1500, days=8, seed=17, end_date=AS_OF)
    return run_pipeline(database.settings, [AS_OF], database.instance)


def run_verify(database, capsys, monkeypatch) -> tuple[int, dict]:
    # main() is the edge that reads the environment: the one place a test sets it.
    for name, value in database.settings.as_env().items():
        monkeypatch.setenv(name, value)
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


def test_verify_passes_on_a_matching_database(database, built, capsys, monkeypatch):
    code, report = run_verify(database, capsys, monkeypatch)
    assert code == 0, report
    statuses = {f["object"]: f["status"] for f in report["findings"]}
    assert statuses["public.coliseum_leaderboard_a_7d"] == "ok"
    assert statuses["public.artist_revenue_summary"] == "ok"
    assert statuses["public.coliseum_entitlements"] == "ok"
    assert statuses["public.coliseum_get_artist_dna(uuid)"] == "ok"
    assert statuses["public.passport_entries"] == "ok"
    assert statuses["last run"] == "ok"


@pytest.fixture
def read_only_url(database):
    """A login role that can only read: USAGE on the schemas, SELECT on every table, EXECUTE on functions."""
    role = f"coliseum_verifier_{uuid.uuid4().hex[:8]}"
    schemas = sorted(
        {database.settings.source_schema, database.settings.build_schema, database.settings.publish_schema}
    )
    with database.connect() as conn:
        conn.execute(f"create role {role} login password 'verify'")
        for schema in schemas:
            conn.execute(f"grant usage on schema {schema} to {role}")
            conn.execute(f"grant select on all tables in schema {schema} to {role}")
            conn.execute(f"grant execute on all functions in schema {schema} to {role}")
    yield make_conninfo(database.url, user=role, password="verify")
    with database.connect() as conn:
        conn.execute(f"drop owned by {role}")
        conn.execute(f"drop role {role}")


def test_verify_passes_as_a_role_that_can_only_read(database, built, read_only_url):
    with psycopg.connect(read_only_url, autocommit=True) as conn:
        assert conn.execute("select current_user").fetchone()[0] != "postgres"
        report = verify(conn, database.settings)
        assert report.ok, [f for f in report.findings if f.status != "ok"]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "insert into coliseum.coliseum_publications (as_of_date, status) values (%s, 'candidate')", (AS_OF,)
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("delete from coliseum.coliseum_dna_mutations")


def test_verify_reports_drift(database, built, capsys, monkeypatch):
    now = datetime.now(UTC)
    with database.connect() as conn:
        conn.execute("drop view public.coliseum_leaderboard_c_30d")
        conn.execute("alter view public.coliseum_leaderboard_a_7d rename column score to points")
        conn.execute("drop function public.coliseum_get_artist_dna(uuid)")
        conn.execute("update coliseum.coliseum_publications set published_at = %s", (now - timedelta(days=3),))
        follow(conn, new_id(), new_id(), now - timedelta(minutes=1))
    code, report = run_verify(database, capsys, monkeypatch)
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
