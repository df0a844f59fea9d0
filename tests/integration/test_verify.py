"""The operator's read and buttons on one built database: `coliseum verify` on a matching database (also as a
role that can only read), every UI button (each check launched on its own, each job from its launchpad), then
`verify` on a drifted database; coliseum_metrics as a legacy view."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from dagster import AssetCheckKey, AssetKey, AssetRecordsFilter
from psycopg.conninfo import make_conninfo

from dagster_project.app.cli import main
from dagster_project.app.runner import QUIET, definitions, run_pipeline
from dagster_project.app.verify import verify
from dagster_project.contract import MUTATIONS_KEY, build_key
from dagster_project.defs.dbt.project import coliseum_dbt
from dagster_project.defs.nightly.partitions import run_days
from dagster_project.defs.nightly.plan import DAILY_JOB, PUBLISH_JOB, RECOMPUTE_JOB, WINDOWS_JOB
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


def latest_materialization(database, key: AssetKey):
    [record] = database.instance.fetch_materializations(AssetRecordsFilter(asset_key=key), limit=1).records
    return record


def test_dbt_assets_carry_typed_columns(database, built):
    metadata = latest_materialization(database, MUTATIONS_KEY).asset_materialization.metadata
    columns = {c.name: c for c in metadata["dagster/column_schema"].value.columns}
    assert columns["effective_delta"].type == "numeric(18,4)" and columns["activity_date"].type == "date"
    assert columns["entity_id"].description  # dbt's YAML description kept
    expected = database.query(
        "select column_name from information_schema.columns where table_schema = 'coliseum' "
        "and table_name = 'coliseum_dna_mutations' order by ordinal_position"
    )
    assert list(columns) == [name for (name,) in expected]


def test_dbt_assets_carry_row_counts_that_reconcile(database, built):
    # A seed is rebuilt whole: its row count. An incremental model: the rows its build wrote for the run's days.
    seed = latest_materialization(database, build_key("currencies")).asset_materialization.metadata
    assert seed["dagster/row_count"].value == database.query("select count(*) from coliseum.currencies")[0][0] > 0
    record = latest_materialization(database, MUTATIONS_KEY)
    days = run_days(database.instance.get_run_by_id(record.run_id).tags)
    written = record.asset_materialization.metadata["rows_written_by_build"].value
    assert "dagster/row_count" not in record.asset_materialization.metadata  # the history is never counted
    assert (
        written
        == database.query(
            "select count(*) from coliseum.coliseum_dna_mutations where activity_date between %s and %s",
            (min(days), max(days)),
        )[0][0]
        > 0
    )


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


# Every button of the UI on good data, through Dagster's API the way the UI launches them: each check on its
# own (Assets -> a check -> Execute: the implicit asset job with that check alone, no partition), and each job
# with the partition its launchpad offers. Before the drift test below, which breaks the published contract.


def launch_check(database, defs, key: AssetCheckKey):
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection=set(), asset_check_selection={key})
    return job.execute_in_process(instance=database.instance, run_config=QUIET, raise_on_error=False)


def checks_to_launch(defs) -> list[AssetCheckKey]:
    """Every check of ours, and one dbt test per dbt asset set (each dbt test is its own dbt invocation)."""
    keys = sorted(defs.resolve_asset_graph().asset_check_keys, key=lambda k: k.to_user_string())
    manifest = json.loads(coliseum_dbt.manifest_path.read_text())
    dbt_tests = {node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "test"}
    ours = [k for k in keys if k.name not in dbt_tests]
    dbt_daily = next(k for k in keys if k.name == "row_rules_stg_passport__entries")
    dbt_window = next(k for k in keys if k.name == "row_rules_coliseum_domain_strength")
    return [*ours, dbt_daily, dbt_window]


def test_every_check_launched_on_its_own_passes(database, built):
    defs = definitions(database.settings)
    launched = checks_to_launch(defs)
    names = {k.name for k in launched}
    assert {"gx_source_suite", "gx_mutations_suite", "reconciliation", "gx_leaderboard_suite"} <= names, names
    failed = {}
    for key in launched:
        result = launch_check(database, definitions(database.settings), key)
        # A warning check may warn (the generated log has artists without a profile); a blocking one must pass.
        evaluations = result.get_asset_check_evaluations()
        blocking_failed = [e for e in evaluations if not e.passed and e.severity.value == "ERROR"]
        if not result.success or len(evaluations) != 1 or blocking_failed:
            failures = [e.event_specific_data.error.message for e in result.all_events if e.is_step_failure]
            failed[key.to_user_string()] = (result.success, [e.passed for e in evaluations], failures)
    assert failed == {}


@pytest.mark.parametrize(
    ("job_name", "partition"),
    # In this order: a daily partition rebuilt alone leaves its windows older than its mutations, and publish
    # then refuses to stage that date until they are rebuilt (the trust gate, tests/integration/test_gate.py).
    [
        (RECOMPUTE_JOB, None),
        (PUBLISH_JOB, AS_OF.isoformat()),
        (WINDOWS_JOB, f"{AS_OF.isoformat()}|7d"),
        (DAILY_JOB, AS_OF.isoformat()),
    ],
)
def test_every_job_launched_from_the_launchpad_succeeds(database, built, job_name, partition):
    result = (
        definitions(database.settings)
        .resolve_job_def(job_name)
        .execute_in_process(instance=database.instance, partition_key=partition, run_config=QUIET, raise_on_error=False)
    )
    failures = [e.event_specific_data.error.message for e in result.all_events if e.is_step_failure]
    assert result.success, failures


def test_a_check_launched_before_anything_was_built_says_so(database, built, admin_url, tmp_path_factory):
    from dagster import DagsterInstance

    from dagster_project.db.migrations import init_db
    from tests.support.database import create_database, drop_database, settings_for

    url = create_database(admin_url)
    try:
        settings = settings_for(url, tmp_path_factory.mktemp("empty"))
        init_db(url, settings)
        defs = definitions(settings)
        key = next(k for k in defs.resolve_asset_graph().asset_check_keys if k.name == "gx_mutations_suite")
        with DagsterInstance.ephemeral() as instance:
            job = defs.resolve_implicit_global_asset_job_def().get_subset(
                asset_selection=set(), asset_check_selection={key}
            )
            result = job.execute_in_process(instance=instance, run_config=QUIET, raise_on_error=False)
        [failure] = [e.event_specific_data.error.message for e in result.all_events if e.is_step_failure]
        assert "no day has been built yet: run the nightly job" in failure
    finally:
        drop_database(admin_url, url)


def test_days_the_check_audits_alone_are_the_newest_built(database, built):
    # Launched alone, a daily check audits the newest day whose build passed: AS_OF, the fixture's last.
    defs = definitions(database.settings)
    key = next(k for k in defs.resolve_asset_graph().asset_check_keys if k.name == "reconciliation")
    result = launch_check(database, defs, key)
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.metadata["partition"].value == AS_OF.isoformat()


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
