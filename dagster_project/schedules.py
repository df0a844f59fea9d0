"""The nightly schedule: at the configured UTC hour, start the plan for D = yesterday."""

from datetime import date, timedelta

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, schedule

from dagster_project.late_data import plan_run
from dagster_project.nightly import DAILY_JOB, RECOMPUTE_JOB, stage_tags
from dagster_project.resources import PostgresResource
from dagster_project.settings import get_settings


def as_of_for_tick(scheduled: date) -> date:
    """The nightly run computes yesterday: the last complete UTC day."""
    return scheduled - timedelta(days=1)


@schedule(
    name="coliseum_nightly",
    cron_schedule=f"0 {get_settings().schedule_hour} * * *",
    job_name=DAILY_JOB,
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Nightly: daily partitions (yesterday + late days), then its three windows, then publish.",
)
def coliseum_nightly_schedule(context: ScheduleEvaluationContext, postgres: PostgresResource) -> list[RunRequest]:
    settings = get_settings()
    as_of_date = as_of_for_tick(context.scheduled_execution_time.date())
    with postgres.connect() as conn:
        plan = plan_run(conn, settings, [as_of_date]).plan
    chain = f"nightly-{as_of_date.isoformat()}-{int(context.scheduled_execution_time.timestamp())}"
    tags = stage_tags(plan, chain, as_of_date, stage=0, launched_by="schedule")
    return [
        RunRequest(
            run_key=f"{chain}:0:{i}",
            job_name=step.job_name,
            partition_key=step.partition_key,
            tags={**tags, **step.run_tags()},
        )
        for i, step in enumerate(plan[0])
    ]


@schedule(
    name="coliseum_weekly_recompute",
    cron_schedule=f"0 {(get_settings().schedule_hour + 3) % 24} * * 0",
    job_name=RECOMPUTE_JOB,
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Weekly (Sunday, 3 h after the nightly): every published relation against a full rebuild of the log.",
)
def coliseum_weekly_recompute(context: ScheduleEvaluationContext) -> RunRequest:
    return RunRequest(run_key=f"recompute-{context.scheduled_execution_time.date().isoformat()}")
