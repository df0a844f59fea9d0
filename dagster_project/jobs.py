"""One asset job per partitioning (Dagster runs a single partitioning per run); see nightly.py."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from dagster_project.assets.dbt import coliseum_daily_assets, coliseum_window_assets
from dagster_project.assets.ledger import coliseum_daily_ledger
from dagster_project.assets.publish import publication_candidate, publish_relations
from dagster_project.checks import DAILY_CHECKS, PUBLISH_CHECKS
from dagster_project.nightly import DAILY_JOB, PUBLISH_JOB, WINDOWS_JOB

daily_job = define_asset_job(
    DAILY_JOB,
    selection=AssetSelection.assets(coliseum_daily_assets, coliseum_daily_ledger)
    | AssetSelection.checks(*DAILY_CHECKS),
    description=(
        "Read the log for one or more UTC days into mutations, quarantine and rollups; once every check passed, "
        "mark the entries processed (the daily ledger)."
    ),
)
windows_job = define_asset_job(
    WINDOWS_JOB,
    selection=AssetSelection.assets(coliseum_window_assets),
    description="Domain strength and leaderboard history for one (as-of date, window).",
)
publish_job = define_asset_job(
    PUBLISH_JOB,
    selection=AssetSelection.assets(publication_candidate, publish_relations) | AssetSelection.checks(*PUBLISH_CHECKS),
    description="Stage a candidate, audit it (blocking), switch the published relations atomically.",
)
