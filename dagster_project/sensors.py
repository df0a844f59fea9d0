"""Sensors: advance a scheduled nightly plan stage by stage; send alerts; watch freshness and backlog."""

from datetime import UTC, date, datetime, timedelta

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    RunStatusSensorContext,
    SensorEvaluationContext,
    SkipReason,
    run_status_sensor,
    sensor,
)

from dagster_project.jobs import daily_job, publish_job, windows_job
from dagster_project.nightly import (
    TAG_AS_OF,
    TAG_CHAIN,
    TAG_LAUNCHED_BY,
    TAG_PLAN,
    TAG_PUBLISH_OLDER,
    TAG_STAGE,
    plan_from_json,
    stage_tags,
)
from dagster_project.quality.alerts import dispatch, freshness_alerts, run_alerts
from dagster_project.resources import PostgresResource
from dagster_project.settings import get_settings


def next_stage_requests(context: RunStatusSensorContext) -> list[RunRequest] | SkipReason:
    tags = context.dagster_run.tags
    if tags.get(TAG_LAUNCHED_BY) != "schedule" or TAG_PLAN not in tags:
        # The CLI drives its own stages in-process; only scheduled chains are advanced here.
        return SkipReason("run is not part of a scheduled nightly plan")
    plan = plan_from_json(tags[TAG_PLAN])
    chain, stage = tags[TAG_CHAIN], int(tags[TAG_STAGE])
    if stage + 1 >= len(plan):
        return SkipReason(f"{chain}: plan complete")
    done = context.instance.get_runs_count(
        RunsFilter(tags={TAG_CHAIN: chain, TAG_STAGE: str(stage)}, statuses=[DagsterRunStatus.SUCCESS])
    )
    if done < len(plan[stage]):
        return SkipReason(f"{chain}: stage {stage} has {done}/{len(plan[stage])} successful runs")
    as_of_date = date.fromisoformat(tags[TAG_AS_OF])
    publish_older = tags.get(TAG_PUBLISH_OLDER) == "true"
    next_tags = stage_tags(plan, chain, as_of_date, stage + 1, launched_by="schedule", publish_older=publish_older)
    return [
        RunRequest(
            run_key=f"{chain}:{stage + 1}:{i}",  # the same stage is never launched twice
            job_name=step.job_name,
            partition_key=step.partition_key,
            tags={**next_tags, **step.run_tags()},
        )
        for i, step in enumerate(plan[stage + 1])
    ]


@run_status_sensor(
    name="coliseum_nightly_chain",
    run_status=DagsterRunStatus.SUCCESS,
    monitored_jobs=[daily_job, windows_job],
    request_jobs=[daily_job, windows_job, publish_job],
    default_status=DefaultSensorStatus.RUNNING,
    description="Launches the next stage of a scheduled nightly plan once the current stage succeeded.",
)
def coliseum_nightly_chain(context: RunStatusSensorContext):
    return next_stage_requests(context)


@sensor(
    name="coliseum_alerts",
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="One alert per failed run and per failed check (warnings in successful runs too).",
)
def coliseum_alerts(context: SensorEvaluationContext, postgres: PostgresResource) -> SkipReason:
    now = datetime.now(UTC)
    since = datetime.fromtimestamp(float(context.cursor), UTC) if context.cursor else now - timedelta(days=1)
    alerts = run_alerts(context.instance, since=since)
    with postgres.connect() as conn:
        sent = dispatch(conn, get_settings(), alerts)
    # Overlapping windows are harmless: dispatch deduplicates.
    context.update_cursor(str((now - timedelta(minutes=5)).timestamp()))
    return SkipReason(f"{len(sent)} new alert(s) sent")


@sensor(
    name="coliseum_freshness",
    minimum_interval_seconds=3600,
    default_status=DefaultSensorStatus.RUNNING,
    description="Alerts when the boards are older than COLISEUM_FRESHNESS_HOURS or old entries are unprocessed.",
)
def coliseum_freshness(context: SensorEvaluationContext, postgres: PostgresResource) -> SkipReason:
    settings = get_settings()
    with postgres.connect() as conn:
        sent = dispatch(conn, settings, freshness_alerts(conn, settings))
    return SkipReason(f"{len(sent)} new alert(s) sent")
