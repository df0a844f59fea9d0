"""Output audits on real data: each blocking suite catches its defect and names the rows; warnings publish."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
from dagster import AssetCheckKey, AssetKey
from dbt.cli.main import dbtRunner

from dagster_project.app.runner import PipelineRunError, execute_plan, run_pipeline
from dagster_project.db.connection import dbt_env
from dagster_project.defs.dbt.project import coliseum_dbt
from dagster_project.defs.dbt.vars import daily_vars
from dagster_project.defs.nightly.plan import nightly_plan
from dagster_project.defs.publish.publication import current_publication
from dagster_project.defs.quality.audits import window_start_sql
from dagster_project.defs.quality.gx import run_suite
from dagster_project.devtools.generate import generate
from dagster_project.settings import environment
from tests.support.database import AS_OF
from tests.support.helpers import quiet

D = AS_OF
PLAN = nightly_plan([D])


@pytest.fixture(scope="module")
def built(database):
    with database.connect() as conn:
        generate(conn, database.settings, events=2500, days=12, seed=13, end_date=D)
    return run_pipeline(database.settings, [D], database.instance)


def corrupt_one_row(database, table: str, change: str, where: str, name: str) -> str:
    """The defect a check must catch: one row of a built table changed. Returns its `name` column.
    `where` takes D as its one parameter."""
    with database.connect() as conn:
        return conn.execute(
            f"update coliseum.{table} set {change} where ctid = "
            f"(select ctid from coliseum.{table} where {where} limit 1) returning {name}::text",
            (D,),
        ).fetchone()[0]


def live_publication(database) -> int:
    with database.connect() as conn:
        return current_publication(conn, database.settings).publication_id


def test_mutation_without_its_entry_fails_the_mutations_suite(database, built):
    orphan = str(uuid.uuid4())
    with database.connect() as conn:
        conn.execute(
            "insert into coliseum.coliseum_dna_mutations (passport_entry_id, entity_id, domain, event_type, "
            "effective_delta, weight_version, quality_factor, user_id, created_at, activity_date) "
            "select %s, entity_id, domain, event_type, effective_delta, weight_version, quality_factor, user_id, "
            "created_at, activity_date from coliseum.coliseum_dna_mutations where activity_date = %s limit 1",
            (orphan, D),
        )
    try:
        run = run_suite(
            database.url,
            database.settings,
            "coliseum_dna_mutations",
            str(D),
            f"select * from coliseum.coliseum_dna_mutations where activity_date = '{D}'",
        )
    finally:
        with database.connect() as conn:
            conn.execute("delete from coliseum.coliseum_dna_mutations where passport_entry_id = %s", (orphan,))
    assert not run.success
    [failure] = run.failures
    assert failure["expectation"] == "unexpected_rows_expectation"
    assert failure["unexpected_count"] == 1
    assert failure["sample"][0]["passport_entry_id"] == orphan


@pytest.mark.parametrize(
    ("suite", "table", "keys"),
    [
        ("coliseum_domain_strength", "coliseum_domain_strength", ("entity_id", "domain")),
        ("artist_revenue_summary", "artist_revenue_summary", ("artist_id", "currency")),
    ],
)
def test_duplicated_key_fails_the_window_suite(database, built, suite, table, keys):
    # Uniqueness is a group-by in the suites (GX's compound-unique join-back ran as a nested loop).
    rows = f"select * from coliseum.{table} where as_of_date = '{D}' and \"window\" = 'alltime'"
    run = run_suite(
        database.url,
        database.settings,
        suite,
        "alltime",
        f"{rows} union all ({rows} order by {', '.join(keys)} limit 1)",
        placeholders={"as_of_date": D.isoformat(), "window_start": window_start_sql(D, "alltime")},
    )
    with database.connect() as conn:
        first = conn.execute(f"select {', '.join(keys)} from ({rows}) as r order by 1, 2 limit 1").fetchone()
    duplicates = [
        f
        for f in run.failures
        if f["expectation"] == "unexpected_rows_expectation" and "copies" in (f["sample"][0] if f["sample"] else {})
    ]
    assert not run.success and len(duplicates) == 1
    assert duplicates[0]["unexpected_count"] == 1
    assert [duplicates[0]["sample"][0][key] for key in keys] == [str(value) for value in first]


def test_strength_that_differs_from_its_mutations_blocks_publish(database, built):
    before = live_publication(database)
    artist = corrupt_one_row(
        database,
        "coliseum_domain_strength",
        "strength = strength + 1",
        "as_of_date = %s and \"window\" = '30d' and domain = 'T'",
        "entity_id",
    )
    try:
        with pytest.raises(PipelineRunError) as failure:
            execute_plan(database.settings, PLAN[2:], D, database.instance, log=quiet)
        assert "gx_strength_suite" in str(failure.value) and artist in str(failure.value)
        assert live_publication(database) == before
    finally:
        execute_plan(
            database.settings, PLAN[1:2], D, database.instance, log=quiet
        )  # rebuild the windows from the rollups


def test_revenue_that_differs_from_its_payments_blocks_publish(database, built):
    before = live_publication(database)
    artist = corrupt_one_row(
        database,
        "artist_revenue_summary",
        "gross_cents = gross_cents + 100, net_cents = net_cents + 100",
        "as_of_date = %s and \"window\" = 'alltime'",
        "artist_id",
    )
    try:
        with pytest.raises(PipelineRunError) as failure:
            execute_plan(database.settings, PLAN[2:], D, database.instance, log=quiet)
        assert "gx_revenue_suite" in str(failure.value) and artist in str(failure.value)
        assert live_publication(database) == before
    finally:
        execute_plan(database.settings, PLAN[1:2], D, database.instance, log=quiet)


def test_transactions_that_differ_from_the_staged_payments_fail_the_daily_test(database, built, tmp_path):
    # The publish check reconciles revenue against the transactions; this daily test ties those to the log.
    payment = corrupt_one_row(
        database,
        "int_treasury_transactions",
        "amount_cents = amount_cents + 1",
        "activity_date = %s and kind = 'payment'",
        "passport_entry_id",
    )
    try:
        day_vars = daily_vars(D, D + timedelta(days=1), "test", database.settings)
        with environment(dbt_env(database.url, database.settings)):  # dbt in-process reads os.environ
            result = dbtRunner().invoke(
                [
                    "test",
                    "--select",
                    "int_treasury_transactions,test_name:payments_match_staging",
                    "--vars",
                    json.dumps(day_vars),
                    "--project-dir",
                    str(coliseum_dbt.project_dir),
                    "--profiles-dir",
                    str(coliseum_dbt.profiles_dir),
                    "--target-path",
                    str(tmp_path),
                ]
            )
        [test] = result.result.results
        assert test.status == "fail" and test.failures == 2
        with database.connect() as conn:
            rows = conn.execute(test.node.compiled_code).fetchall()
        assert sorted((row[0], str(row[1])) for row in rows) == [
            ("missing from the transactions", payment),
            ("not a staged payment", payment),
        ]
    finally:
        execute_plan(database.settings, PLAN[:2], D, database.instance, log=quiet)  # rebuild the day and its windows


def test_volume_drop_warns_and_still_publishes(database, built):
    before = live_publication(database)
    with database.connect() as conn:
        dropped = conn.execute(
            "delete from coliseum.coliseum_leaderboard_history where as_of_date = %s and rank > 2", (D,)
        ).rowcount
    assert dropped > 0
    try:
        run_ids = execute_plan(database.settings, PLAN[2:], D, database.instance, log=quiet)
    finally:
        execute_plan(database.settings, PLAN[1:2], D, database.instance, log=quiet)
    assert live_publication(database) > before
    evaluation = database.instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [AssetCheckKey(AssetKey(["coliseum", "publication_candidate"]), "volume_anomaly")]
    )
    record = next(iter(evaluation.values()))
    assert record.run_id in run_ids
    assert record.event.dagster_event.event_specific_data.passed is False
    assert record.event.dagster_event.event_specific_data.severity.value == "WARN"


def test_data_docs_are_built_and_linked_from_the_check(database, built):
    records = database.instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [AssetCheckKey(AssetKey(["coliseum", "publication_candidate"]), "gx_leaderboard_suite")]
    )
    metadata = next(iter(records.values())).event.dagster_event.event_specific_data.metadata
    index = Path(urlparse(metadata["data_docs"].value).path)
    assert index == database.home / "data_docs" / "index.html"
    assert index.exists() and "coliseum_leaderboard" in index.read_text()
