"""dbt models as Dagster assets: one @dbt_assets set per partitioning (Dagster allows one per set).

The seeds (weights, currencies, plan limits) belong to the daily set: reloading them in the daily dbt
invocation keeps them in sync at no extra dbt process (about 10 s) per night."""

import shutil
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from typing import Any

from dagster import AssetExecutionContext, AssetKey, MultiToSingleDimensionPartitionMapping, PartitionMapping
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from dagster_project.dbt_project import coliseum_dbt
from dagster_project.dbt_vars import daily_vars, dbt_build_args, window_vars
from dagster_project.ledger import open_days
from dagster_project.partitions import daily_partitions, window_partitions
from dagster_project.quality.audit_log import AuditResult, record
from dagster_project.resources import PostgresResource
from dagster_project.settings import get_settings

BUILD_PREFIX = "coliseum"
DBT_TARGETS_KEPT = 40


def prune_dbt_targets(keep: int = DBT_TARGETS_KEPT) -> None:
    """dagster-dbt gives every invocation its own target dir (~2 MB); keep the newest for debugging only."""
    dirs = sorted(
        (p for p in (coliseum_dbt.project_dir / "target").glob("coliseum_dbt_*") if p.is_dir()),
        key=lambda p: p.stat().st_mtime,
    )
    for old in dirs[: max(0, len(dirs) - keep)]:
        shutil.rmtree(old, ignore_errors=True)


def run_dbt(context: AssetExecutionContext, dbt: DbtCliResource, args: list[str]) -> Iterator[Any]:
    yield from dbt.cli(args, context=context).stream()
    prune_dbt_targets()


class ColiseumTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey(dbt_resource_props["name"])  # passport_entries, artist_profiles
        return AssetKey([BUILD_PREFIX, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "coliseum"

    def get_partition_mapping(
        self, dbt_resource_props: Mapping[str, Any], dbt_parent_resource_props: Mapping[str, Any]
    ) -> PartitionMapping | None:
        # A window partition (D, w) depends on the daily partition D it adds to the window.
        if "window" in dbt_resource_props.get("tags", []) and "daily" in dbt_parent_resource_props.get("tags", []):
            return MultiToSingleDimensionPartitionMapping(partition_dimension_name="date")
        return None


translator = ColiseumTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(
    manifest=coliseum_dbt.manifest_path,
    project=coliseum_dbt,
    select="tag:daily",
    name="coliseum_dbt_daily",
    partitions_def=daily_partitions,
    dagster_dbt_translator=translator,
)
def coliseum_daily_assets(
    context: AssetExecutionContext, dbt: DbtCliResource, postgres: PostgresResource
) -> Iterator[Any]:
    postgres.export_dbt_env()
    settings = get_settings()
    time_window = context.partition_time_window  # one day, or a range in a single-run backfill
    start, end = time_window.start.date(), time_window.end.date()
    dbt_vars = daily_vars(start, end, context.run_id, settings)
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    with postgres.connect() as conn:  # open until the ledger step closes them (assets/ledger.py)
        open_days(conn, settings, start, end, context.run_id)
    try:
        yield from run_dbt(context, dbt, dbt_build_args(dbt_vars))
    except Exception as error:
        # A failed build or dbt test holds back publication of these days until a rerun passes.
        _record_build(postgres, days, context.run_id, passed=False, summary=str(error)[:2000])
        raise
    _record_build(postgres, days, context.run_id, passed=True, summary="dbt build and tests passed")


@dbt_assets(
    manifest=coliseum_dbt.manifest_path,
    project=coliseum_dbt,
    select="tag:window",
    name="coliseum_dbt_windows",
    partitions_def=window_partitions,
    dagster_dbt_translator=translator,
)
def coliseum_window_assets(
    context: AssetExecutionContext, dbt: DbtCliResource, postgres: PostgresResource
) -> Iterator[Any]:
    postgres.export_dbt_env()
    # One dbt invocation per as-of date for all its selected windows; dates in order (previous_rank).
    windows_by_date: dict[str, list[str]] = {}
    for key in context.partition_keys:
        day, window = key.split("|")
        windows_by_date.setdefault(day, []).append(window)
    for day in sorted(windows_by_date):
        dbt_vars = window_vars(date.fromisoformat(day), windows_by_date[day])
        yield from run_dbt(context, dbt, dbt_build_args(dbt_vars))


def _record_build(postgres: PostgresResource, days: list[date], run_id: str, passed: bool, summary: str) -> None:
    settings = get_settings()
    with postgres.connect() as conn:
        for day in days:
            result = AuditResult(
                "dbt_build", "coliseum/dbt_daily", day.isoformat(), passed, True, int(not passed), summary, day=day
            )
            record(conn, settings, result, run_id)


def build_key(model: str) -> AssetKey:
    return AssetKey([BUILD_PREFIX, model])
