"""The code location `dagster dev` loads. Importing it reads the dbt manifest; it never runs dbt parse."""

from __future__ import annotations

from dagster import AssetSpec, Definitions, in_process_executor

from dagster_project.assets.dbt import coliseum_daily_assets, coliseum_window_assets
from dagster_project.assets.ledger import coliseum_daily_ledger
from dagster_project.assets.publish import publication_candidate, publish_relations
from dagster_project.checks import DAILY_CHECKS, PUBLISH_CHECKS
from dagster_project.jobs import daily_job, publish_job, recompute_job, windows_job
from dagster_project.resources import build_resources
from dagster_project.schedules import coliseum_nightly_schedule, coliseum_weekly_recompute
from dagster_project.sensors import coliseum_alerts, coliseum_freshness, coliseum_nightly_chain

sources = [
    AssetSpec(
        "passport_entries",
        description="The app's immutable event log (public.passport_entries); read, never rewritten.",
        group_name="sources",
    ),
    AssetSpec("artist_profiles", description="Artist names (public.artist_profiles).", group_name="sources"),
]

defs = Definitions(
    assets=[
        *sources,
        coliseum_daily_assets,
        coliseum_daily_ledger,
        coliseum_window_assets,
        publication_candidate,
        publish_relations,
    ],
    asset_checks=[*DAILY_CHECKS, *PUBLISH_CHECKS],
    jobs=[daily_job, windows_job, publish_job, recompute_job],
    schedules=[coliseum_nightly_schedule, coliseum_weekly_recompute],
    sensors=[coliseum_nightly_chain, coliseum_alerts, coliseum_freshness],
    resources=build_resources(),
    # Steps are dbt subprocesses and SQL: spawning a Python process per step would only add overhead.
    executor=in_process_executor,
)
