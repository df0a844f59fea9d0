"""Asset checks of the quality gate. Each records its result (audit log) for the publish gate and alerts.

Daily run: the GX source suite on passport_entries (blocking: a flood of bad rows stops the day before
staging), the GX mutations suite, and the reconciliation of the staged partition.
Publish run: the GX leaderboard suite on each of the twelve candidate boards, the strength and revenue
suites per window (blocking: the switch is skipped), volume against the live publication and artists without a
profile (warnings with an alert).
"""

import csv
from datetime import date, timedelta

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    MetadataValue,
    asset_check,
)

from dagster_project.assets.dbt import build_key
from dagster_project.assets.publish import CANDIDATE_KEY
from dagster_project.nightly import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from dagster_project.publish import BOARDS, SNAPSHOTS, candidate_for_run, current_publication
from dagster_project.quality import audits
from dagster_project.quality.audit_log import AuditResult, record
from dagster_project.quality.gx_suites import SuiteRun, build_data_docs, run_suite
from dagster_project.resources import PostgresResource
from dagster_project.settings import DBT_PROJECT_DIR, WINDOWS, get_settings


def run_days(context: AssetCheckExecutionContext) -> list[date]:
    """The UTC days a run covers, from its partition tags (one day, or a range)."""
    tags = context.run.tags
    if ASSET_PARTITION_RANGE_START_TAG in tags:
        first = date.fromisoformat(tags[ASSET_PARTITION_RANGE_START_TAG].split("|")[0])
        last = date.fromisoformat(tags[ASSET_PARTITION_RANGE_END_TAG].split("|")[0])
    else:
        first = last = date.fromisoformat(tags["dagster/partition"].split("|")[0])
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def root_run_id(context: AssetCheckExecutionContext) -> str:
    """Retries of a run share its root id, so their alerts deduplicate."""
    return context.run.tags.get("dagster/root_run_id", context.run.run_id)


def finish(
    context: AssetCheckExecutionContext,
    postgres: PostgresResource,
    result: AuditResult,
    days: list[date],
    suite: SuiteRun | list[SuiteRun] | None = None,
    gates_days: bool = True,
) -> AssetCheckResult:
    """Record and report a result. `gates_days`: a failure also holds back every later publication until
    the day passes again (daily checks); candidate checks gate their own run only."""
    settings = get_settings()
    if result.check_name in settings.audit_force_fail:
        result.passed, result.summary = False, f"forced failure (COLISEUM_AUDIT_FORCE_FAIL): {result.summary}"
        result.failing_count = max(result.failing_count, 1)
    with postgres.connect() as conn:
        for day in days:
            day_result = AuditResult(
                **{**result.__dict__, "partition_key": day.isoformat(), "day": day if gates_days else None}
            )
            record(conn, settings, day_result, root_run_id(context))
    metadata = {
        "summary": result.summary,
        "failing_count": result.failing_count,
        "partition": ",".join(d.isoformat() for d in days),
        "sample": MetadataValue.json(result.sample[:5]),
    }
    if suite:
        metadata["data_docs"] = MetadataValue.url(
            build_data_docs(settings, suite if isinstance(suite, list) else [suite])
        )
    return AssetCheckResult(
        passed=result.passed,
        severity=AssetCheckSeverity.ERROR if result.blocking else AssetCheckSeverity.WARN,
        metadata=metadata,
        description=result.summary,
    )


def suite_result(name: str, asset: str, runs: list[SuiteRun], blocking: bool = True) -> AuditResult:
    failed = [r for r in runs if not r.success]
    summary = "; ".join(r.summary() for r in failed) if failed else f"{len(runs)} validation(s) passed"
    sample = [{"target": r.target, "failures": r.sample()} for r in failed]
    return AuditResult(name, asset, "", not failed, blocking, sum(r.failing_count for r in failed), summary, sample)


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def known_event_types() -> list[str]:
    with open(DBT_PROJECT_DIR / "seeds" / "influence_weights.csv", newline="") as handle:
        return sorted({row["event_type"] for row in csv.DictReader(handle)})


@asset_check(
    asset="passport_entries",
    name="gx_source_suite",
    blocking=True,
    description="GX suite passport_entries on the run's raw days: stops a flood of bad rows (one is quarantined).",
)
def gx_source_suite(context: AssetCheckExecutionContext, postgres: PostgresResource) -> AssetCheckResult:
    settings, days = get_settings(), run_days(context)
    query = (
        f"select * from {settings.source_schema}.passport_entries "
        f"where created_at >= '{min(days)} 00:00:00+00' and created_at < '{max(days) + timedelta(days=1)} 00:00:00+00'"
    )
    run = run_suite(
        postgres.url(),
        settings,
        "passport_entries",
        f"raw {min(days)}..{max(days)}",
        query,
        placeholders={"known_event_types": ", ".join(sql_string(name) for name in known_event_types())},
    )
    return finish(context, postgres, suite_result("gx_source_suite", "passport_entries", [run]), days, run)


@asset_check(
    asset=build_key("coliseum_dna_mutations"),
    name="gx_mutations_suite",
    blocking=True,
    description="GX suite coliseum_dna_mutations on the run's days.",
)
def gx_mutations_suite(context: AssetCheckExecutionContext, postgres: PostgresResource) -> AssetCheckResult:
    settings, days = get_settings(), run_days(context)
    query = (
        f"select * from {settings.build_schema}.coliseum_dna_mutations "
        f"where activity_date between '{min(days)}' and '{max(days)}'"
    )
    run = run_suite(postgres.url(), settings, "coliseum_dna_mutations", f"days {min(days)}..{max(days)}", query)
    result = suite_result("gx_mutations_suite", "coliseum/coliseum_dna_mutations", [run])
    return finish(context, postgres, result, days, run)


@asset_check(
    asset=build_key("stg_passport__entries"),
    name="reconciliation",
    blocking=True,
    description="Per day: raw entries = counted + quarantined + exact duplicates.",
)
def reconciliation(context: AssetCheckExecutionContext, postgres: PostgresResource) -> AssetCheckResult:
    settings, days = get_settings(), run_days(context)
    with postgres.connect() as conn:
        result = audits.reconciliation(conn, settings, days)
    return finish(context, postgres, result, days)


def _candidate(context: AssetCheckExecutionContext, postgres: PostgresResource) -> tuple[int, date]:
    with postgres.connect() as conn:
        return candidate_for_run(conn, get_settings(), context.run.run_id)


@asset_check(
    asset=CANDIDATE_KEY,
    name="gx_leaderboard_suite",
    blocking=True,
    description="GX suite coliseum_leaderboard on each of the twelve candidate boards.",
)
def gx_leaderboard_suite(context: AssetCheckExecutionContext, postgres: PostgresResource) -> AssetCheckResult:
    settings = get_settings()
    publication_id, as_of = _candidate(context, postgres)
    runs = [
        run_suite(
            postgres.url(),
            settings,
            "coliseum_leaderboard",
            f"{domain.lower()}_{window}",
            f"select * from {settings.build_schema}.coliseum_published_leaderboards where publication_id = "
            f"{publication_id} and domain = '{domain}' and \"window\" = '{window}'",
        )
        for domain, window in BOARDS
    ]
    result = suite_result("gx_leaderboard_suite", "coliseum/publication_candidate", runs)
    return finish(context, postgres, result, [as_of], runs, gates_days=False)


def _window_suite(
    context: AssetCheckExecutionContext, postgres: PostgresResource, check_name: str, suite: str, snapshot: str
) -> AssetCheckResult:
    """Run one suite on each window of the candidate's snapshot table, with the window's bounds."""
    settings = get_settings()
    publication_id, as_of = _candidate(context, postgres)
    runs = [
        run_suite(
            postgres.url(),
            settings,
            suite,
            window,
            f"select * from {settings.build_schema}.{snapshot} where publication_id = "
            f"{publication_id} and \"window\" = '{window}'",
            placeholders={"as_of_date": as_of.isoformat(), "window_start": audits.window_start_sql(as_of, window)},
        )
        for window in WINDOWS
    ]
    result = suite_result(check_name, "coliseum/publication_candidate", runs)
    return finish(context, postgres, result, [as_of], runs, gates_days=False)


@asset_check(
    asset=CANDIDATE_KEY,
    name="gx_strength_suite",
    blocking=True,
    description="GX suite coliseum_domain_strength per window, reconciled with the daily rollups.",
)
def gx_strength_suite(context: AssetCheckExecutionContext, postgres: PostgresResource) -> AssetCheckResult:
    return _window_suite(
        context, postgres, "gx_strength_suite", "coliseum_domain_strength", _snapshot_table("coliseum_domain_strength")
    )


@asset_check(
    asset=CANDIDATE_KEY,
    name="gx_revenue_suite",
    blocking=True,
    description="GX suite artist_revenue_summary per window, gross reconciled with the staged payments.",
)
def gx_revenue_suite(context: AssetCheckExecutionContext, postgres: PostgresResource) -> AssetCheckResult:
    return _window_suite(
        context, postgres, "gx_revenue_suite", "artist_revenue_summary", _snapshot_table("artist_revenue_summary")
    )


def _snapshot_table(name: str) -> str:
    return next(snapshot.table for snapshot in SNAPSHOTS if snapshot.name == name)


@asset_check(
    asset=CANDIDATE_KEY,
    name="volume_anomaly",
    blocking=False,
    description="Warns when a board loses more than COLISEUM_VOLUME_DROP_SHARE of its rows.",
)
def volume_anomaly(context: AssetCheckExecutionContext, postgres: PostgresResource) -> AssetCheckResult:
    settings = get_settings()
    publication_id, as_of = _candidate(context, postgres)
    with postgres.connect() as conn:
        live = current_publication(conn, settings)
        result = audits.volume_anomaly(
            conn, settings, publication_id, live.publication_id if live else None, settings.volume_drop_share
        )
    return finish(context, postgres, result, [as_of], gates_days=False)


@asset_check(
    asset=CANDIDATE_KEY,
    name="artists_without_profile",
    blocking=False,
    description="Warns about ranked artists that have no artist_profiles row.",
)
def artists_without_profile(context: AssetCheckExecutionContext, postgres: PostgresResource) -> AssetCheckResult:
    settings = get_settings()
    _publication_id, as_of = _candidate(context, postgres)
    with postgres.connect() as conn:
        result = audits.artists_without_profile(conn, settings, as_of)
    return finish(context, postgres, result, [as_of], gates_days=False)


DAILY_CHECKS = [gx_source_suite, gx_mutations_suite, reconciliation]
PUBLISH_CHECKS = [gx_leaderboard_suite, gx_strength_suite, gx_revenue_suite, volume_anomaly, artists_without_profile]
