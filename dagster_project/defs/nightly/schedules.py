"""The nightly schedule (at the configured UTC hour, start the plan for D = yesterday) and the weekly recompute."""

from datetime import date, timedelta

from dagster import DefaultScheduleStatus, RunRequest, ScheduleDefinition, ScheduleEvaluationContext, schedule

from dagster_project.defs.nightly.chain import start_chain
from dagster_project.defs.nightly.pending import plan_run
from dagster_project.defs.nightly.plan import DAILY_JOB, RECOMPUTE_JOB
from dagster_project.defs.resources import ColiseumResource


def as_of_for_tick(scheduled: date) -> date:
    """The nightly run computes yesterday: the last complete UTC day."""
    return scheduled - timedelta(days=1)


def build_schedules(hour: int) -> tuple[ScheduleDefinition, ScheduleDefinition]:
    """(nightly, weekly recompute): the recompute runs on Sunday, 3 h after the nightly."""

    @schedule(
        name="coliseum_nightly",
        cron_schedule=f"0 {hour} * * *",
        job_name=DAILY_JOB,
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING,
        description="Nightly: daily partitions (yesterday + late days), then its three windows, then publish.",
    )
    def coliseum_nightly(context: ScheduleEvaluationContext, coliseum: ColiseumResource) -> list[RunRequest]:
        as_of_date = as_of_for_tick(context.scheduled_execution_time.date())
        with coliseum.connect() as conn:
            planned = plan_run(conn, coliseum.settings, [as_of_date])
            chain = f"nightly-{as_of_date.isoformat()}-{int(context.scheduled_execution_time.timestamp())}"
            return start_chain(conn, coliseum.settings, planned, launched_by="schedule", chain=chain)

    @schedule(
        name="coliseum_weekly_recompute",
        cron_schedule=f"0 {(hour + 3) % 24} * * 0",
        job_name=RECOMPUTE_JOB,
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING,
        description="Weekly: every published relation against a full rebuild of the log.",
    )
    def coliseum_weekly_recompute(context: ScheduleEvaluationContext) -> RunRequest:
        return RunRequest(run_key=f"recompute-{context.scheduled_execution_time.date().isoformat()}")

    return coliseum_nightly, coliseum_weekly_recompute
