"""Drive a nightly plan in-process as real Dagster runs recorded in DAGSTER_HOME (CLI and tests): the same chain
as the schedule (defs/nightly/chain.py), with this process asking what to run after each stage."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from dagster import DagsterInstance, Definitions, RunRequest
from psycopg import sql

from dagster_project.db.connection import connect, database_url
from dagster_project.db.migrations import migrate
from dagster_project.defs.code_location import build_defs
from dagster_project.defs.nightly.chain import next_requests, start_chain
from dagster_project.defs.nightly.partitions import run_partition
from dagster_project.defs.nightly.pending import PlannedRun, plan_run
from dagster_project.defs.nightly.plan import Plan, plan_days
from dagster_project.defs.publish.publication import current_publication
from dagster_project.settings import Settings

# The full event log stays in DAGSTER_HOME (and the UI); the terminal gets warnings and errors only.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}

Log = Callable[[str], object]


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


@cache
def definitions(settings: Settings) -> Definitions:
    """The code location for these settings (needs the prepared manifest), built once per process."""
    return build_defs(settings)


def dagster_yaml(dagster_home: Path) -> str:
    """A new DAGSTER_HOME's dagster.yaml (an existing one is the operator's): local storage in the home, as
    without one, but the event log without an fsync per event (app/event_log.py), and no telemetry, whose
    first-run banner would otherwise open every new home's first command."""
    return (
        "telemetry:\n  enabled: false\n"
        "event_log_storage:\n"
        "  module: dagster_project.app.event_log\n"
        "  class: ColiseumSqliteEventLogStorage\n"
        f"  config:\n    base_dir: {json.dumps(str(dagster_home / 'history' / 'runs'))}\n"
    )


def instance_at(dagster_home: Path) -> DagsterInstance:
    """The instance in `dagster_home`, given `dagster_yaml` when it has none."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text(dagster_yaml(dagster_home))
    return DagsterInstance.from_config(str(dagster_home))


def dagster_instance(settings: Settings) -> DagsterInstance:
    """The instance in the settings' DAGSTER_HOME, shared with `coliseum ui` and `dagster dev`."""
    return instance_at(settings.dagster_home)


def execute_plan(
    settings: Settings,
    plan: Plan,
    as_of_date: date,
    instance: DagsterInstance,
    launched_by: str = "cli",
    log: Log = print,
    publish_older: bool = False,
) -> list[str]:
    """Run the plan's stages in order as one chain; stop at the first failed run (nothing later is published)."""
    defs = definitions(settings)
    url = database_url(settings)
    planned = PlannedRun(plan, as_of_date, None, publish_older)
    with connect(url) as conn:
        requests: list[RunRequest] = start_chain(conn, settings, planned, launched_by)
    run_ids: list[str] = []
    while requests:
        for request in requests:
            started = time.monotonic()
            label = f"{request.job_name}[{_partition_label(request)}]"
            log(f"  {label} running")
            result = defs.resolve_job_def(request.job_name).execute_in_process(
                instance=instance,
                partition_key=request.partition_key,
                tags=request.tags,
                run_config=QUIET,
                raise_on_error=False,
            )
            run_ids.append(result.run_id)
            log(f"  {label}: {'ok' if result.success else 'FAILED'} ({time.monotonic() - started:.1f} s)")
            if not result.success:
                raise PipelineRunError(
                    f"run {result.run_id} ({label}) failed; the last publication is unchanged.\n"
                    + "\n".join(_failure_lines(result)),
                    run_ids,
                )
        with connect(url) as conn:
            following = next_requests(instance, conn, settings, instance.get_run_by_id(run_ids[-1]))
        requests = following if isinstance(following, list) else []
    return run_ids


def _partition_label(request: RunRequest) -> str:
    return request.partition_key or run_partition(request.tags) or "-"


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
    settings: Settings,
    as_of_dates: list[date],
    instance: DagsterInstance | None = None,
    log: Log = print,
    publish_older: bool = False,
) -> RunSummary:
    """Build `as_of_dates` and publish (the last of them, or the live as-of date when they are older)."""
    started = time.monotonic()
    url = database_url(settings)
    instance = instance or dagster_instance(settings)
    with connect(url) as conn:
        migrate(conn, settings)
        planned = plan_run(conn, settings, as_of_dates, publish_older)
    if planned.publish_date != max(as_of_dates) or planned.publish_older:
        log(f"the plan {planned.describe()}")
    days = plan_days(planned.plan)
    run_ids = execute_plan(
        settings, planned.plan, planned.publish_date, instance, log=log, publish_older=planned.publish_older
    )
    with connect(url) as conn:
        entries, mutations, ranked = _summarize(conn, settings, days)
        publication = current_publication(conn, settings)
    return RunSummary(
        as_of_date=planned.publish_date,
        days=days,
        entries_read=entries,
        mutations_written=mutations,
        artists_ranked=ranked,
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
