"""The one executor of a nightly plan: the plan is stored under a chain id, and each stage's runs are requested
once every run of the previous stage succeeded. The schedule starts a chain and the sensor
`coliseum_nightly_chain` advances it; `coliseum run` drives the same chain in-process (app/runner.py), asking
`next_requests` what to run after each stage, exactly as the sensor does."""

import json
import uuid
from datetime import date

import psycopg
from dagster import (
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    RunStatusSensorContext,
    SensorDefinition,
    SkipReason,
    run_status_sensor,
)
from psycopg import sql

from dagster_project.defs.nightly.pending import PlannedRun
from dagster_project.defs.nightly.plan import (
    TAG_AS_OF,
    TAG_CHAIN,
    TAG_LAUNCHED_BY,
    TAG_PUBLISH_OLDER,
    TAG_STAGE,
    Plan,
    plan_from_json,
    plan_to_json,
    stage_tags,
)
from dagster_project.defs.resources import ColiseumResource
from dagster_project.settings import Settings


def start_chain(
    conn: psycopg.Connection,
    settings: Settings,
    planned: PlannedRun,
    launched_by: str,
    chain: str | None = None,
) -> list[RunRequest]:
    """Store the plan under `chain` (default: a new id); returns the runs of its first stage. A chain id that is
    stored already keeps its first plan (a repeated schedule tick requests the same runs, which Dagster skips)."""
    chain = chain or f"{launched_by}-{planned.publish_date.isoformat()}-{uuid.uuid4().hex[:12]}"
    conn.execute(
        sql.SQL(
            "insert into {}.coliseum_nightly_plans (chain, as_of_date, plan, publish_older) values (%s, %s, %s, %s) "
            "on conflict (chain) do nothing"
        ).format(sql.Identifier(settings.build_schema)),
        (chain, planned.publish_date, plan_to_json(planned.plan), planned.publish_older),
    )
    conn.commit()
    plan = stored_plan(conn, settings, chain) or planned.plan
    return stage_requests(plan, chain, planned.publish_date, 0, launched_by, planned.publish_older)


def stage_requests(
    plan: Plan, chain: str, as_of_date: date, stage: int, launched_by: str, publish_older: bool
) -> list[RunRequest]:
    tags = stage_tags(chain, as_of_date, stage, launched_by, publish_older)
    return [
        RunRequest(
            run_key=f"{chain}:{stage}:{i}",  # the same stage is never launched twice
            job_name=step.job_name,
            partition_key=step.partition_key,
            tags={**tags, **step.run_tags()},
        )
        for i, step in enumerate(plan[stage])
    ]


def stored_plan(conn: psycopg.Connection, settings: Settings, chain: str) -> Plan | None:
    row = conn.execute(
        sql.SQL("select plan from {}.coliseum_nightly_plans where chain = %s").format(
            sql.Identifier(settings.build_schema)
        ),
        (chain,),
    ).fetchone()
    return plan_from_json(json.dumps(row[0])) if row else None


def next_requests(
    instance: DagsterInstance, conn: psycopg.Connection, settings: Settings, run: DagsterRun
) -> list[RunRequest] | SkipReason:
    """After `run` succeeded: the next stage's runs once its whole stage succeeded, else why not."""
    tags = run.tags
    if TAG_CHAIN not in tags:
        return SkipReason("run is not part of a nightly plan")
    chain, stage = tags[TAG_CHAIN], int(tags[TAG_STAGE])
    plan = stored_plan(conn, settings, chain)
    if plan is None:
        return SkipReason(f"{chain}: no stored plan")
    if stage + 1 >= len(plan):
        return SkipReason(f"{chain}: plan complete")
    done = instance.get_runs_count(
        RunsFilter(tags={TAG_CHAIN: chain, TAG_STAGE: str(stage)}, statuses=[DagsterRunStatus.SUCCESS])
    )
    if done < len(plan[stage]):
        return SkipReason(f"{chain}: stage {stage} has {done}/{len(plan[stage])} successful runs")
    return stage_requests(
        plan,
        chain,
        date.fromisoformat(tags[TAG_AS_OF]),
        stage + 1,
        tags[TAG_LAUNCHED_BY],
        tags.get(TAG_PUBLISH_OLDER) == "true",
    )


def build_chain_sensor(daily_job, windows_job, publish_job) -> SensorDefinition:
    @run_status_sensor(
        name="coliseum_nightly_chain",
        run_status=DagsterRunStatus.SUCCESS,
        monitored_jobs=[daily_job, windows_job],
        request_jobs=[daily_job, windows_job, publish_job],
        default_status=DefaultSensorStatus.RUNNING,
        description="Launches the next stage of a scheduled nightly plan once the current stage succeeded.",
    )
    def coliseum_nightly_chain(context: RunStatusSensorContext, coliseum: ColiseumResource):
        if context.dagster_run.tags.get(TAG_LAUNCHED_BY) != "schedule":
            # `coliseum run` drives its own chains in-process (the same next_requests, app/runner.py).
            return SkipReason("run is not part of a scheduled nightly plan")
        with coliseum.connect() as conn:
            return next_requests(context.instance, conn, coliseum.settings, context.dagster_run)

    return coliseum_nightly_chain
