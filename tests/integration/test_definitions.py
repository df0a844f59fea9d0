"""The code location: loads and validates, shows the lineage, builds exact dbt args, schedules yesterday."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime

from dagster import AssetKey, Definitions, build_schedule_context

from dagster_project.dbt_project import coliseum_dbt
from dagster_project.dbt_vars import daily_vars, dbt_build_args, window_vars
from dagster_project.nightly import (
    DAILY_JOB,
    PUBLISH_JOB,
    WINDOWS_JOB,
    Step,
    contiguous_ranges,
    nightly_plan,
    plan_days,
)
from dagster_project.publish import BOARD_NAMES
from dagster_project.resources import PostgresResource
from dagster_project.settings import get_settings


def test_definitions_load_and_validate():
    from dagster_project.definitions import defs

    Definitions.validate_loadable(defs)
    assert {job for job in (DAILY_JOB, WINDOWS_JOB, PUBLISH_JOB) if defs.resolve_job_def(job)} == {
        DAILY_JOB,
        WINDOWS_JOB,
        PUBLISH_JOB,
    }


def test_lineage_from_passport_entries_to_each_board():
    from dagster_project.definitions import defs

    graph = defs.resolve_asset_graph()
    chain = [
        AssetKey("passport_entries"),
        AssetKey(["coliseum", "stg_passport__entries"]),
        AssetKey(["coliseum", "coliseum_dna_mutations"]),
        AssetKey(["coliseum", "int_artist_domain_daily"]),
        AssetKey(["coliseum", "coliseum_domain_strength"]),
        AssetKey(["coliseum", "coliseum_leaderboard_history"]),
        AssetKey(["coliseum", "publication_candidate"]),
    ]
    for upstream, downstream in zip(chain, chain[1:], strict=False):
        assert upstream in graph.get(downstream).parent_keys, f"{upstream} -> {downstream}"
    # Every window's branch is in the lineage: the all-time running totals and the 7d/30d fan-days.
    strength_parents = graph.get(AssetKey(["coliseum", "coliseum_domain_strength"])).parent_keys
    assert {AssetKey(["coliseum", "int_artist_domain_totals"]), AssetKey(["coliseum", "int_artist_fans_daily"])} <= (
        strength_parents
    )
    for name in BOARD_NAMES:
        assert chain[-1] in graph.get(AssetKey(["published", name])).parent_keys
    assert len(BOARD_NAMES) == 12


def test_importing_definitions_does_not_parse_dbt():
    manifest = coliseum_dbt.manifest_path
    before = manifest.stat().st_mtime_ns
    subprocess.run([sys.executable, "-c", "import dagster_project.definitions"], check=True)
    assert manifest.stat().st_mtime_ns == before


def test_dbt_args_are_exact():
    settings = replace(
        get_settings(),
        platform_start=date(2025, 3, 1),
        max_amount_cents=999,
        max_metadata_bytes=10,
    )
    assert dbt_build_args(daily_vars(date(2026, 11, 20), date(2026, 11, 21), "run-1", settings)) == [
        "build",
        "--vars",
        '{"end_date": "2026-11-21", "max_amount_cents": 999, "max_metadata_bytes": 10, '
        '"platform_start": "2025-03-01", "run_id": "run-1", "start_date": "2026-11-20"}',
    ]
    assert dbt_build_args(window_vars(date(2026, 11, 20), ["alltime", "7d"])) == [
        "build",
        "--vars",
        '{"as_of_date": "2026-11-20", "windows": ["7d", "alltime"]}',
    ]
    assert dbt_build_args() == ["build"]


def test_nightly_plan_stages():
    d = date(2026, 11, 20)
    plan = nightly_plan([d], pending=[date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 18), date(2026, 11, 25)])
    # Daily ranges one stage each, in date order (a refund reads what is dated before it); later days wait.
    assert plan == [
        [Step(DAILY_JOB, partition_range=("2026-11-02", "2026-11-03"))],
        [Step(DAILY_JOB, partition_key="2026-11-18")],
        [Step(DAILY_JOB, partition_key="2026-11-20")],
        [Step(WINDOWS_JOB, partition_range=("2026-11-20|7d", "2026-11-20|alltime"))],
        [Step(PUBLISH_JOB, partition_key="2026-11-20")],
    ]
    assert plan_days(plan) == [date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 18), date(2026, 11, 20)]
    assert contiguous_ranges([date(2026, 1, 3), date(2026, 1, 1), date(2026, 1, 2)]) == [
        (date(2026, 1, 1), date(2026, 1, 3))
    ]


def test_recovery_plan_republishes_the_live_date():
    """Rerunning a past day rebuilds it and its windows, then rebuilds and publishes the live as-of date."""
    plan = nightly_plan([date(2026, 11, 10)], pending=[date(2026, 11, 19)], publish_date=date(2026, 11, 20))
    assert plan == [
        [Step(DAILY_JOB, partition_key="2026-11-10")],
        [Step(DAILY_JOB, partition_key="2026-11-19")],
        [
            Step(WINDOWS_JOB, partition_range=("2026-11-10|7d", "2026-11-10|alltime")),
            Step(WINDOWS_JOB, partition_range=("2026-11-20|7d", "2026-11-20|alltime")),
        ],
        [Step(PUBLISH_JOB, partition_key="2026-11-20")],
    ]


def test_schedule_requests_yesterday(database):
    from dagster_project.definitions import defs
    from dagster_project.schedules import coliseum_nightly_schedule

    with build_schedule_context(
        scheduled_execution_time=datetime(2026, 11, 21, 2, 0, tzinfo=UTC),
        resources={"postgres": PostgresResource(database_url=database.url)},
        repository_def=defs.get_repository_def(),
    ) as context:
        requests = coliseum_nightly_schedule.evaluate_tick(context).run_requests
    assert [(r.job_name, r.partition_key) for r in requests] == [(DAILY_JOB, "2026-11-20")]
    plan = json.loads(requests[0].tags["coliseum/plan"])
    assert [s["partition_range"] for s in plan[1]] == [["2026-11-20|7d", "2026-11-20|alltime"]]
    assert requests[0].tags["coliseum/as_of_date"] == "2026-11-20"


def test_init_db_twice_keeps_data(database):
    from dagster_project.sources import init_db

    with database.connect() as conn:
        conn.execute("insert into public.passport_entries (user_id, event_type) values (gen_random_uuid(), 'x')")
    init_db(database.url, database.settings)
    init_db(database.url, database.settings)
    assert database.query("select count(*) from public.passport_entries where event_type = 'x'") == [(1,)]
    columns = {
        r[0]
        for r in database.query(
            "select column_name from information_schema.columns where table_name = 'passport_entries'"
        )
    }
    assert {"id", "metadata", "processed_by_coliseum", "processed_at", "coliseum_processed_at"} <= columns
    indexes = {r[0] for r in database.query("select indexname from pg_indexes where tablename = 'passport_entries'")}
    assert {"passport_entries_created_at_idx", "passport_entries_unprocessed_idx"} <= indexes


def test_chain_sensor_launches_windows_after_a_scheduled_daily_run(database):
    from dagster import DagsterEventType, build_run_status_sensor_context

    from dagster_project.database import export_dbt_env
    from dagster_project.definitions import defs
    from dagster_project.nightly import stage_tags
    from dagster_project.sensors import coliseum_nightly_chain

    export_dbt_env(database.url)
    d = date(2026, 11, 19)
    plan = nightly_plan([d])
    result = defs.resolve_job_def(DAILY_JOB).execute_in_process(
        instance=database.instance,
        partition_key=d.isoformat(),
        tags=stage_tags(plan, "chain-test", d, 0, launched_by="schedule"),
    )
    assert result.success
    run = database.instance.get_run_by_id(result.run_id)
    success = next(
        e.dagster_event
        for e in database.instance.all_logs(result.run_id)
        if e.dagster_event and e.dagster_event.event_type == DagsterEventType.RUN_SUCCESS
    )
    context = build_run_status_sensor_context(
        sensor_name="coliseum_nightly_chain",
        dagster_event=success,
        dagster_instance=database.instance,
        dagster_run=run,
    )
    requests = coliseum_nightly_chain(context)
    assert [(r.job_name, r.run_key) for r in requests] == [(WINDOWS_JOB, "chain-test:1:0")]
    assert requests[0].tags["dagster/asset_partition_range_start"] == "2026-11-19|7d"
    assert requests[0].tags["dagster/asset_partition_range_end"] == "2026-11-19|alltime"
    assert {r.tags["coliseum/stage"] for r in requests} == {"1"}


def test_recompute_compares_every_published_relation():
    """verify --recompute (and the differential test through it) must cover each published name: a new
    published relation joins the comparison the day it lands, or this fails."""
    from dagster_project.publish import PUBLISHED_NAMES
    from dagster_project.recompute import expected_relations

    relations = expected_relations(get_settings(), "scratch", date(2026, 11, 20))
    assert set(relations) == set(PUBLISHED_NAMES)
