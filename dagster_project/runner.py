"""Execute a nightly plan in-process as real Dagster runs recorded in DAGSTER_HOME (CLI and tests)."""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from datetime import date

from dagster import DagsterInstance
from psycopg import sql

from dagster_project.database import connect, export_dbt_env
from dagster_project.late_data import plan_run
from dagster_project.nightly import Plan, plan_days, stage_tags
from dagster_project.publish import current_publication
from dagster_project.settings import Settings

# The full event log stays in DAGSTER_HOME (and the UI); the terminal gets warnings and errors only.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


class PipelineRunError(RuntimeError):
    def __init__(self, message: str, run_ids: list[str]):
        super().__init__(message)
        self.run_ids = run_ids


@dataclass(frozen=True)
class RunSummary:
    as_of_date: date
    days: list[date]
    entries_read: int
    mutations_written: int
    artists_ranked: int
    publication_id: int | None
    seconds: float
    run_ids: list[str]

    def line(self) -> str:
        return (
            f"as of {self.as_of_date}: {self.entries_read} entries read over {len(self.days)} day(s), "
            f"{self.mutations_written} mutations written, {self.artists_ranked} artists ranked, "
            f"publication {self.publication_id}, {self.seconds:.1f} s"
        )


def dagster_instance(settings: Settings) -> DagsterInstance:
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    return DagsterInstance.get()


def execute_plan(
    plan: Plan,
    as_of_date: date,
    instance: DagsterInstance,
    launched_by: str = "cli",
    log=print,
    publish_older: bool = False,
) -> list[str]:
    """Run each stage's steps in order; stop at the first failed run (nothing later is published)."""
    from dagster_project.definitions import defs  # needs the prepared manifest

    chain = f"{launched_by}-{uuid.uuid4().hex[:12]}"
    run_ids = []
    for index, stage in enumerate(plan):
        tags = stage_tags(plan, chain, as_of_date, index, launched_by, publish_older)
        for step in stage:
            job = defs.resolve_job_def(step.job_name)
            started = time.monotonic()
            result = job.execute_in_process(
                instance=instance,
                partition_key=step.partition_key,
                tags={**tags, **step.run_tags()},
                run_config=QUIET,
                raise_on_error=False,
            )
            run_ids.append(result.run_id)
            log(f"  {step.label}: {'ok' if result.success else 'FAILED'} ({time.monotonic() - started:.1f} s)")
            if not result.success:
                raise PipelineRunError(
                    f"run {result.run_id} ({step.label}) failed; the last publication is unchanged.\n"
                    + "\n".join(_failure_lines(result)),
                    run_ids,
                )
    return run_ids


def _failure_lines(result) -> list[str]:
    lines = []
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            meta = {k: getattr(v, "value", v) for k, v in evaluation.metadata.items()}
            lines.append(
                f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} failed: "
                f"{meta.get('summary', '')}\n    sample: {json.dumps(meta.get('sample'), default=str)[:800]}"
            )
    for event in result.all_events:
        if event.is_step_failure and event.event_specific_data:
            lines.append(f"{event.step_key}: {event.event_specific_data.error.message.strip()[:1500]}")
    return lines


def run_pipeline(
    url: str,
    settings: Settings,
    as_of_dates: list[date],
    instance: DagsterInstance | None = None,
    log=print,
    publish_older: bool = False,
) -> RunSummary:
    """Build `as_of_dates` and publish (the last of them, or the live as-of date when they are older)."""
    started = time.monotonic()
    export_dbt_env(url)
    instance = instance or dagster_instance(settings)
    with connect(url) as conn:
        planned = plan_run(conn, settings, as_of_dates, publish_older)
    if planned.publish_date != max(as_of_dates) or planned.publish_older:
        log(f"the plan {planned.describe()}")
    days = plan_days(planned.plan)
    run_ids = execute_plan(planned.plan, planned.publish_date, instance, log=log, publish_older=planned.publish_older)
    with connect(url) as conn:
        summary = _summarize(conn, settings, days)
        publication = current_publication(conn, settings)
    return RunSummary(
        as_of_date=planned.publish_date,
        days=days,
        entries_read=summary[0],
        mutations_written=summary[1],
        artists_ranked=summary[2],
        publication_id=publication.publication_id if publication else None,
        seconds=time.monotonic() - started,
        run_ids=run_ids,
    )


def _summarize(conn, settings: Settings, days: list[date]) -> tuple[int, int, int]:
    source, build, target = (
        sql.Identifier(settings.source_schema),
        sql.Identifier(settings.build_schema),
        sql.Identifier(settings.publish_schema),
    )
    # One index range scan per day; a cast of created_at in the predicate would scan the whole log.
    entries = conn.execute(
        sql.SQL(
            "select count(*) from unnest(%s::date[]) as d(day) join {}.passport_entries p "
            "on p.created_at >= d.day::timestamp at time zone 'UTC' "
            "and p.created_at < (d.day + 1)::timestamp at time zone 'UTC'"
        ).format(source),
        (days,),
    ).fetchone()[0]
    mutations = conn.execute(
        sql.SQL("select count(*) from {}.coliseum_dna_mutations where activity_date = any(%s)").format(build),
        (days,),
    ).fetchone()[0]
    ranked = conn.execute(
        sql.SQL("select count(distinct entity_id) from {}.coliseum_domain_strength").format(target)
    ).fetchone()[0]
    return entries, mutations, ranked
