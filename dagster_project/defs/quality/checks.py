"""Asset checks of the quality gate. Each records its result (audit results) for the publish gate and alerts.

Daily run: the GX source suite on passport_entries (blocking: a flood of bad rows stops the day before
staging), the GX mutations suite, and the reconciliation of the staged partition. dbt's own tests on the
daily models are blocking checks too (dagster-dbt); each rule has one owner (a dbt test or a GX expectation).
Publish run: the GX leaderboard suite on each of the twelve candidate boards, the strength and revenue
suites per window (blocking: the switch is skipped), volume against the live publication and artists without a
profile (warnings with an alert).
"""

import csv
from dataclasses import replace
from datetime import date, timedelta

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    Failure,
    MetadataValue,
    asset_check,
)
from dagster._core.storage.tags import ROOT_RUN_ID_TAG

from dagster_project.contract import (
    BOARDS,
    CANDIDATE_KEY,
    MUTATIONS_KEY,
    PASSPORT_ENTRIES,
    SNAPSHOTS,
    STAGING_KEY,
    WINDOWS,
)
from dagster_project.defs.nightly.partitions import run_days
from dagster_project.defs.publish.publication import candidate_for_run, current_publication
from dagster_project.defs.quality import audits
from dagster_project.defs.quality.gx import SuiteRun, build_data_docs, run_suite
from dagster_project.defs.quality.results import AuditResult, record
from dagster_project.defs.resources import ColiseumResource
from dagster_project.settings import DBT_PROJECT_DIR


def _days(context: AssetCheckExecutionContext) -> list[date]:
    days = run_days(context.run.tags)
    if not days:
        raise Failure(
            description=f"check {context.check_specs[0].name} audits the days of its run, and this run has no "
            "partition: launch it with a day (or a range of days) selected"
        )
    return days


def finish(
    context: AssetCheckExecutionContext,
    coliseum: ColiseumResource,
    result: AuditResult,
    days: list[date],
    suites: list[SuiteRun] = (),  # type: ignore[assignment]
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
    if suites:
        metadata["data_docs"] = MetadataValue.url(build_data_docs(settings, list(suites)))
    return AssetCheckResult(
        passed=result.passed,
        severity=AssetCheckSeverity.ERROR if result.blocking else AssetCheckSeverity.WARN,
        metadata=metadata,
        description=result.summary,
    )


def suite_result(name: str, asset: str, runs: list[SuiteRun]) -> AuditResult:
    failed = [r for r in runs if not r.success]
    return AuditResult(
        check_name=name,
        asset=asset,
        passed=not failed,
        blocking=True,
        failing_count=sum(r.failing_count for r in failed),
        summary="; ".join(r.summary() for r in failed) if failed else f"{len(runs)} validation(s) passed",
        sample=[{"target": r.target, "failures": r.sample()} for r in failed],
    )


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def known_event_types() -> list[str]:
    with open(DBT_PROJECT_DIR / "seeds" / "influence_weights.csv", newline="") as handle:
        return sorted({row["event_type"] for row in csv.DictReader(handle)})


@asset_check(
    asset=PASSPORT_ENTRIES,
    name="gx_source_suite",
    blocking=True,
    description="GX suite passport_entries on the run's raw days: stops a flood of bad rows (one is quarantined).",
)
def gx_source_suite(context: AssetCheckExecutionContext, coliseum: ColiseumResource) -> AssetCheckResult:
    settings, days = coliseum.settings, _days(context)
    query = (
        f"select * from {settings.source_schema}.passport_entries "
        f"where created_at >= '{min(days)} 00:00:00+00' and created_at < '{max(days) + timedelta(days=1)} 00:00:00+00'"
    )
    run = run_suite(
        coliseum.url(),
        settings,
        "passport_entries",
        f"raw {min(days)}..{max(days)}",
        query,
        placeholders={"known_event_types": ", ".join(sql_string(name) for name in known_event_types())},
    )
    return finish(
        context, coliseum, suite_result("gx_source_suite", PASSPORT_ENTRIES.to_user_string(), [run]), days, [run]
    )


@asset_check(
    asset=MUTATIONS_KEY,
    name="gx_mutations_suite",
    blocking=True,
    description="GX suite coliseum_dna_mutations on the run's days.",
)
def gx_mutations_suite(context: AssetCheckExecutionContext, coliseum: ColiseumResource) -> AssetCheckResult:
    settings, days = coliseum.settings, _days(context)
    query = (
        f"select * from {settings.build_schema}.coliseum_dna_mutations "
        f"where activity_date between '{min(days)}' and '{max(days)}'"
    )
    run = run_suite(coliseum.url(), settings, "coliseum_dna_mutations", f"days {min(days)}..{max(days)}", query)
    return finish(
        context, coliseum, suite_result("gx_mutations_suite", MUTATIONS_KEY.to_user_string(), [run]), days, [run]
    )


@asset_check(
    asset=STAGING_KEY,
    name="reconciliation",
    blocking=True,
    description="Per day: raw entries = counted + quarantined + exact duplicates.",
)
def reconciliation(context: AssetCheckExecutionContext, coliseum: ColiseumResource) -> AssetCheckResult:
    days = _days(context)
    with coliseum.connect() as conn:
        result = audits.reconciliation(conn, coliseum.settings, days)
    return finish(context, coliseum, result, days)


def _candidate(context: AssetCheckExecutionContext, coliseum: ColiseumResource) -> tuple[int, date]:
    with coliseum.connect() as conn:
        return candidate_for_run(conn, coliseum.settings, context.run.run_id)


@asset_check(
    asset=CANDIDATE_KEY,
    name="gx_leaderboard_suite",
    blocking=True,
    description="GX suite coliseum_leaderboard on each of the twelve candidate boards.",
)
def gx_leaderboard_suite(context: AssetCheckExecutionContext, coliseum: ColiseumResource) -> AssetCheckResult:
    settings = coliseum.settings
    publication_id, as_of = _candidate(context, coliseum)
    runs = [
        run_suite(
            coliseum.url(),
            settings,
            "coliseum_leaderboard",
            f"{domain.lower()}_{window}",
            f"select * from {settings.build_schema}.coliseum_published_leaderboards where publication_id = "
            f"{publication_id} and domain = '{domain}' and \"window\" = '{window}'",
        )
        for domain, window in BOARDS
    ]
    result = suite_result("gx_leaderboard_suite", CANDIDATE_KEY.to_user_string(), runs)
    return finish(context, coliseum, result, [as_of], runs, gates_days=False)


def window_suite_check(name: str, relation: str, description: str) -> AssetChecksDefinition:
    """A blocking check that runs the relation's suite on each window of the candidate's snapshot, with the
    window's bounds as placeholders (the suite reconciles the snapshot with aggregates of those days)."""
    snapshot = next(s.snapshot_table for s in SNAPSHOTS if s.name == relation)

    @asset_check(asset=CANDIDATE_KEY, name=name, blocking=True, description=description)
    def _check(context: AssetCheckExecutionContext, coliseum: ColiseumResource) -> AssetCheckResult:
        settings = coliseum.settings
        publication_id, as_of = _candidate(context, coliseum)
        runs = [
            run_suite(
                coliseum.url(),
                settings,
                relation,
                window,
                f"select * from {settings.build_schema}.{snapshot} where publication_id = "
                f"{publication_id} and \"window\" = '{window}'",
                placeholders={"as_of_date": as_of.isoformat(), "window_start": audits.window_start_sql(as_of, window)},
            )
            for window in WINDOWS
        ]
        return finish(context, coliseum, suite_result(name, CANDIDATE_KEY.to_user_string(), runs), [as_of], runs, False)

    return _check


gx_strength_suite = window_suite_check(
    "gx_strength_suite",
    "coliseum_domain_strength",
    "GX suite coliseum_domain_strength per window, reconciled with the daily rollups.",
)
gx_revenue_suite = window_suite_check(
    "gx_revenue_suite",
    "artist_revenue_summary",
    "GX suite artist_revenue_summary per window, gross reconciled with the staged payments.",
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
