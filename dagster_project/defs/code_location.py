"""The Dagster definitions, built from one `Settings` (defs/<concept>/ hold the assets, checks, jobs, sensors)."""

from __future__ import annotations

from datetime import timedelta

from dagster import AssetSpec, Definitions, in_process_executor, with_source_code_references

from dagster_project.contract import ARTIST_PROFILES, PASSPORT_ENTRIES
from dagster_project.defs.alerts.sensors import coliseum_alerts, coliseum_freshness
from dagster_project.defs.dbt.assets import build_dbt_assets
from dagster_project.defs.nightly.chain import build_chain_sensor
from dagster_project.defs.nightly.jobs import build_asset_jobs, recompute_job
from dagster_project.defs.nightly.ledger import build_ledger_asset
from dagster_project.defs.nightly.partitions import Partitionings
from dagster_project.defs.nightly.schedules import build_schedules
from dagster_project.defs.publish.assets import build_publish_assets
from dagster_project.defs.quality.checks import DAILY_CHECKS, PUBLISH_CHECKS
from dagster_project.defs.resources import build_resources
from dagster_project.settings import Settings

SOURCES = [
    AssetSpec(
        PASSPORT_ENTRIES,
        description="The app's immutable event log (passport_entries); read, never rewritten.",
        group_name="sources",
    ),
    AssetSpec(ARTIST_PROFILES, description="Artist names (artist_profiles).", group_name="sources"),
]


def build_defs(settings: Settings) -> Definitions:
    partitions = Partitionings.starting(settings.partitions_start, settings.max_days_per_run)
    daily, windows = build_dbt_assets(partitions)
    ledger = build_ledger_asset(partitions, daily)
    candidate, published = build_publish_assets(partitions, timedelta(hours=settings.freshness_hours))
    daily_job, windows_job, publish_job = build_asset_jobs(daily, ledger, windows, candidate, published)
    return Definitions(
        # Code references: each asset links to the function (and dbt model file) that builds it.
        assets=with_source_code_references([*SOURCES, daily, ledger, windows, candidate, published]),
        asset_checks=[*DAILY_CHECKS, *PUBLISH_CHECKS],
        jobs=[daily_job, windows_job, publish_job, recompute_job],
        schedules=list(build_schedules(settings.schedule_hour)),
        sensors=[build_chain_sensor(daily_job, windows_job, publish_job), coliseum_alerts, coliseum_freshness],
        resources=build_resources(settings),
        # Steps are dbt (in this process) and SQL: spawning a Python process per step would only add overhead.
        executor=in_process_executor,
    )
