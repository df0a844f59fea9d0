"""Asset checks of the quality gate. Each records its result (audit results) for the publish gate and alerts.

Daily run: the GX source suite on passport_entries (blocking: a flood of bad rows stops the day before
staging), the GX mutations suite, and the reconciliation of the staged partition. dbt's own tests on the
daily models are blocking checks too (dagster-dbt); each rule has one owner (a dbt test or a GX expectation).
Publish run: the GX leaderboard suite on each of the twelve candidate boards, the strength and revenue
suites per window (blocking: the switch is skipped), volume against the live publication and artists without a
profile (warnings with an alert).

The checks are not partitioned (the catalog's Partition column shows "-"; each evaluation's metadata names the
days it audited): the UI's Execute on a check launches a run without a partition, which Dagster 1.13 fails for a
partitioned check ("Cannot access partition_key for a non-partitioned run").
"""

import csv
from dataclasses import replace
from datetime import date, timedelta

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    MetadataValue,
    asset_check,
)
from dagster._core.storage.tags import ROOT_RUN_ID_TAG

from dagster_project.contract import (
    CANDIDATE_KEY,
    MUTATIONS_KEY,
    PASSPORT_ENTRIES,
    SNAPSHOTS,
    STAGING_KEY,
)
from dagster_project.defs.launched_alone import live_publication, newest_built_day
from dagster_project.defs.nightly.partitions import run_days
from dagster_project.defs.publish.publication import candidate_for_run, current_publication
from dagster_project.defs.quality import audits
from dagster_project.defs.quality.gx import SuiteRun, build_data_docs, run_suite
from dagster_project.defs.quality.results import AuditResult, record
from dagster_project.defs.resources import ColiseumResource
from dagster_project.settings import DBT_PROJECT_DIR


def _days(context: AssetCheckExecutionContext, coliseum: ColiseumResource) -> list[date]:
    """The days a daily check audits: its run's, or, launched on its own (the UI's Execute on a check: no
    partition), the newest day whose build passed."""
    days = run_days(context.run.tags)
    if days:
        return days
    last = newest_built_day(coliseum, f"check {context.check_specs[0].name}")
    context.log.info(f"launched without a partition: auditing the newest built day, {last}")
    return [last]


def finish(
    context: AssetCheckExecutionContext,
    coliseum: ColiseumResource,
    result: AuditResult,
    days: list[date],
    suite: SuiteRun | None = None,
    gates_days: bool = True,
) -> AssetCheckResult:
    """Record and report a result. `gates_days`: a failure also holds back every later publication until
    the day passes again (daily checks); candidate checks gate their own run only."""
    settings = coliseum.settings
    if result.check_name in settings.audit_force_fail:
        result = replace(
            result,
            passed=False,
            summary=f"forced failure (COLISEUM_AUDIT_FORCE_FAIL): {result.summary}",
            failing_count=max(result.failing_count, 1),
        )
    root_run_id = context.run.tags.get(ROOT_RUN_ID_TAG, context.run.run_id)  # retries share their alerts
    with coliseum.connect() as conn:
        for day in days:
            day_result = replace(result, partition_key=day.isoformat(), day=day if gates_days else None)
            record(conn, settings, day_result, root_run_id)
    metadata = {
        "summary": result.summary,
        "failing_count": result.failing_count,
        "partition": ",".join(d.isoformat() for d in days),
        "sample": MetadataValue.json(result.sample[:5]),
    }
    if suite is not None and settings.data_docs:
        metadata["data_docs"] = MetadataValue.url(build_data_docs(settings, suite))
    return AssetCheckResult(
        passed=result.passed,
        severity=AssetCheckSeverity.ERROR if result.blocking else AssetCheckSeverity.WARN,
        metadata=metadata,
        description=result.summary,
    )


def suite_result(name: str, asset: str, run: SuiteRun) -> AuditResult:
    return AuditResult(
        check_name=name,
        asset=asset,
        passed=run.success,
        blocking=True,
        failing_count=0 if run.success else run.failing_count,
        summary=run.summary(),
        sample=[] if run.success else [{"target": run.target, "failures": run.sample()}],
    )


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def known_event_types() -> list[str]:
    with open(DBT_PROJECT_DIR / "seeds" / "influence_weights.csv", newline="") as handle:
        return sorted({row["event_type"] for row in csv.DictReader(handle)})


def day_suite_check(
    name: str, asset: AssetKey, suite: str, relation: str, filter_sql: str, description: str
) -> AssetChecksDefinition:
    """A blocking check that runs the suite on the run's days of `relation` ({source}/{build} are the schemas;
    {first} and {after} are the first day and the day after the last)."""

    @asset_check(asset=asset, name=name, blocking=True, description=description)
    def _check(context: AssetCheckExecutionContext, coliseum: ColiseumResource) -> AssetCheckResult:
        settings, days = coliseum.settings, _days(context, coliseum)
        bounds = {"first": min(days).isoformat(), "after": (max(days) + timedelta(days=1)).isoformat()}
        schemas = {"source": settings.source_schema, "build": settings.build_schema}
        query = f"select * from {relation.format(**schemas)} where {filter_sql.format(**bounds)}"
        placeholders = {"known_event_types": ", ".join(sql_string(t) for t in known_event_types())}
        target = f"days {min(days)}..{max(days)}"
        run = run_suite(coliseum.url(), settings, suite, target, query, placeholders, run_name=context.run.run_id)
        return finish(context, coliseum, suite_result(name, asset.to_user_string(), run), days, run)

    return _check


gx_source_suite = day_suite_check(
    "gx_source_suite",
    PASSPORT_ENTRIES,
    "passport_entries",
    "{source}.passport_entries",
    "created_at >= '{first} 00:00:00+00' and created_at < '{after} 00:00:00+00'",
    "GX suite passport_entries on the run's raw days: stops a flood of bad rows (one is quarantined).",
)
gx_mutations_suite = day_suite_check(
    "gx_mutations_suite",
    MUTATIONS_KEY,
    "coliseum_dna_mutations",
    "{build}.coliseum_dna_mutations",
    "activity_date >= '{first}' and activity_date < '{after}'",
    "GX suite coliseum_dna_mutations on the run's days: what dbt's tests of the model do not check.",
)


@asset_check(
    asset=STAGING_KEY,
    name="reconciliation",
    blocking=True,
    description="Per day: raw entries = counted + quarantined + exact duplicates.",
)
def reconciliation(context: AssetCheckExecutionContext, coliseum: ColiseumResource) -> AssetCheckResult:
    days = _days(context, coliseum)
    with coliseum.connect() as conn:
        result = audits.reconciliation(conn, coliseum.settings, days)
    return finish(context, coliseum, result, days)


def _candidate(context: AssetCheckExecutionContext, coliseum: ColiseumResource) -> tuple[int, date]:
    """The publication a candidate check audits: the candidate its run staged, or, launched on its own (no
    candidate in the run), the live publication, which is what the app reads."""
    with coliseum.connect() as conn:
        try:
            return candidate_for_run(conn, coliseum.settings, context.run.run_id)
        except LookupError:
            pass
    live = live_publication(coliseum, f"check {context.check_specs[0].name}")
    context.log.info(f"no candidate in this run: auditing the live publication {live.publication_id}")
    return live.publication_id, live.as_of_date


def candidate_suite_check(name: str, suite: str, table: str, description: str) -> AssetChecksDefinition:
    """A blocking check that runs the suite once on the candidate's rows in `table` (all its windows), with the
    as-of date and each window's first day as placeholders (suites reconcile with aggregates of those days)."""

    @asset_check(asset=CANDIDATE_KEY, name=name, blocking=True, description=description)
    def _check(context: AssetCheckExecutionContext, coliseum: ColiseumResource) -> AssetCheckResult:
        settings = coliseum.settings
        publication_id, as_of = _candidate(context, coliseum)
        run = run_suite(
            coliseum.url(),
            settings,
            suite,
            f"publication {publication_id}",
            f"select * from {settings.build_schema}.{table} where publication_id = {publication_id}",
            placeholders={"as_of_date": as_of.isoformat(), **audits.window_placeholders(as_of)},
            run_name=context.run.run_id,
        )
        return finish(context, coliseum, suite_result(name, CANDIDATE_KEY.to_user_string(), run), [as_of], run, False)

    return _check


def _snapshot_table(relation: str) -> str:
    return next(s.snapshot_table for s in SNAPSHOTS if s.name == relation)


# One validation per check: GX's configuration writes cost a validation about as much as its queries here.
gx_leaderboard_suite = candidate_suite_check(
    "gx_leaderboard_suite",
    "coliseum_leaderboard",
    "coliseum_published_leaderboards",
    "GX suite coliseum_leaderboard on the twelve candidate boards (a failing row names its board).",
)
gx_strength_suite = candidate_suite_check(
    "gx_strength_suite",
    "coliseum_domain_strength",
    _snapshot_table("coliseum_domain_strength"),
    "GX suite coliseum_domain_strength on the candidate's windows, reconciled with the daily rollups.",
)
gx_revenue_suite = candidate_suite_check(
    "gx_revenue_suite",
    "artist_revenue_summary",
    _snapshot_table("artist_revenue_summary"),
    "GX suite artist_revenue_summary on the candidate's windows, gross reconciled with the staged payments.",
)


@asset_check(
    asset=CANDIDATE_KEY,
    name="volume_anomaly",
    blocking=False,
    description="Warns when a board loses more than COLISEUM_VOLUME_DROP_SHARE of its rows.",
)
def volume_anomaly(context: AssetCheckExecutionContext, coliseum: ColiseumResource) -> AssetCheckResult:
    settings = coliseum.settings
    publication_id, as_of = _candidate(context, coliseum)
    with coliseum.connect() as conn:
        live = current_publication(conn, settings)
        result = audits.volume_anomaly(
            conn, settings, publication_id, live.publication_id if live else None, settings.volume_drop_share
        )
    return finish(context, coliseum, result, [as_of], gates_days=False)


@asset_check(
    asset=CANDIDATE_KEY,
    name="artists_without_profile",
    blocking=False,
    description="Warns about ranked artists that have no artist_profiles row.",
)
def artists_without_profile(context: AssetCheckExecutionContext, coliseum: ColiseumResource) -> AssetCheckResult:
    _publication_id, as_of = _candidate(context, coliseum)
    with coliseum.connect() as conn:
        result = audits.artists_without_profile(conn, coliseum.settings, as_of)
    return finish(context, coliseum, result, [as_of], gates_days=False)


DAILY_CHECKS = [gx_source_suite, gx_mutations_suite, reconciliation]
PUBLISH_CHECKS = [gx_leaderboard_suite, gx_strength_suite, gx_revenue_suite, volume_anomaly, artists_without_profile]
