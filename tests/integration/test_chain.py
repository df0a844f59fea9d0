"""The nightly chain: the schedule stores a plan and requests its first stage; the chain sensor (and the CLI,
through the same `next_requests`) launches each next stage once the previous one succeeded, until publish."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from dagster import (
    DagsterEventType,
    RunRequest,
    SkipReason,
    build_run_status_sensor_context,
    build_schedule_context,
)

from dagster_project.app.runner import definitions
from dagster_project.defs.nightly.chain import next_requests, start_chain, stored_plan
from dagster_project.defs.nightly.pending import PlannedRun
from dagster_project.defs.nightly.plan import (
    DAILY_JOB,
    PUBLISH_JOB,
    TAG_AS_OF,
    TAG_CHAIN,
    TAG_STAGE,
    WINDOWS_JOB,
    Step,
    nightly_plan,
)
from dagster_project.defs.publish.publication import current_publication
from dagster_project.defs.resources import ColiseumResource
from dagster_project.devtools.generate import generate

D = date(2026, 11, 19)
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def execute(database, request: RunRequest):
    result = (
        definitions(database.settings)
        .resolve_job_def(request.job_name)
        .execute_in_process(
            instance=database.instance, partition_key=request.partition_key, tags=request.tags, run_config=QUIET
        )
    )
    assert result.success
    return database.instance.get_run_by_id(result.run_id)


def test_schedule_requests_yesterday(database):
    defs = definitions(database.settings)
    with build_schedule_context(
        scheduled_execution_time=datetime(2026, 11, 21, 2, 0, tzinfo=UTC),
        resources={"coliseum": ColiseumResource.from_settings(database.settings)},
        repository_def=defs.get_repository_def(),
    ) as context:
        requests = defs.resolve_schedule_def("coliseum_nightly").evaluate_tick(context).run_requests
    assert [(r.job_name, r.partition_key) for r in requests] == [(DAILY_JOB, "2026-11-20")]
    with database.connect() as conn:
        plan = stored_plan(conn, database.settings, requests[0].tags[TAG_CHAIN])
    assert [s.partition_range for s in plan[1]] == [("2026-11-20|7d", "2026-11-20|alltime")]
    assert requests[0].tags["coliseum/as_of_date"] == "2026-11-20"


@pytest.fixture(scope="module")
def first_stage(database):
    """A scheduled chain for D started and its first stage (the daily run) done."""
    with database.connect() as conn:
        generate(conn, database.settings, events=400, days=3, seed=7, end_date=D)
        planned = PlannedRun(nightly_plan([D]), D, None, False)
        requests = start_chain(conn, database.settings, planned, launched_by="schedule", chain="chain-test")
    assert [(r.job_name, r.partition_key, r.run_key) for r in requests] == [
        (DAILY_JOB, D.isoformat(), "chain-test:0:0")
    ]
    return execute(database, requests[0])


def test_chain_sensor_launches_windows_after_a_scheduled_daily_run(database, first_stage):
    defs = definitions(database.settings)
    success = next(
        e.dagster_event
        for e in database.instance.all_logs(first_stage.run_id)
        if e.dagster_event and e.dagster_event.event_type == DagsterEventType.RUN_SUCCESS
    )
    context = build_run_status_sensor_context(
        sensor_name="coliseum_nightly_chain",
        dagster_event=success,
        dagster_instance=database.instance,
        dagster_run=first_stage,
        resources={"coliseum": ColiseumResource.from_settings(database.settings)},
    )
    requests = defs.resolve_sensor_def("coliseum_nightly_chain")(context)
    assert [(r.job_name, r.run_key) for r in requests] == [(WINDOWS_JOB, "chain-test:1:0")]
    assert requests[0].tags["dagster/asset_partition_range_start"] == "2026-11-19|7d"
    assert requests[0].tags["dagster/asset_partition_range_end"] == "2026-11-19|alltime"
    assert {r.tags["coliseum/stage"] for r in requests} == {"1"}


def test_the_stored_plan_runs_stage_by_stage_to_publication(database, first_stage):
    settings, instance = database.settings, database.instance
    with database.connect() as conn:
        plan = stored_plan(conn, settings, "chain-test")
        # A repeated tick keeps the chain's first plan (Dagster skips the same run keys).
        again = start_chain(
            conn, settings, PlannedRun(nightly_plan([D - timedelta(days=1)]), D, None, False), "schedule", "chain-test"
        )
    assert plan == nightly_plan([D]) and [r.run_key for r in again] == ["chain-test:0:0"]
    run, stages = first_stage, [[Step(DAILY_JOB, partition_key=D.isoformat())]]
    while True:
        with database.connect() as conn:
            following = next_requests(instance, conn, settings, run)
        if isinstance(following, SkipReason):
            break
        stage = int(following[0].tags[TAG_STAGE])
        assert stage == len(stages) and {r.tags[TAG_AS_OF] for r in following} == {D.isoformat()}
        assert [(r.job_name, r.run_key) for r in following] == [
            (step.job_name, f"chain-test:{stage}:{i}") for i, step in enumerate(plan[stage])
        ]
        stages.append([step for step in plan[stage]])
        for request in following:
            run = execute(database, request)
    assert following.skip_message == "chain-test: plan complete"
    assert stages == plan and stages[-1] == [Step(PUBLISH_JOB, partition_key=D.isoformat())]
    with database.connect() as conn:
        assert current_publication(conn, settings).as_of_date == D


def test_next_requests_waits_for_plans_it_knows(database, first_stage):
    with database.connect() as conn:
        unchained = next_requests(database.instance, conn, database.settings, first_stage.with_tags({}))
        unknown = next_requests(
            database.instance, conn, database.settings, first_stage.with_tags({TAG_CHAIN: "nope", TAG_STAGE: "0"})
        )
    assert unchained.skip_message == "run is not part of a nightly plan"
    assert unknown.skip_message == "nope: no stored plan"
