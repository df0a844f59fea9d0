"""dbt models as Dagster assets: one @dbt_assets set per partitioning (Dagster allows one per set).

The seeds (weights, currencies, plan limits) belong to the daily set: reloading them in the daily dbt
invocation keeps them in sync at no extra dbt invocation per night."""

from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from typing import Any

from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    MultiToSingleDimensionPartitionMapping,
    PartitionMapping,
)
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject, dbt_assets

from dagster_project.contract import WINDOWS, build_key
from dagster_project.defs.dbt.project import coliseum_dbt
from dagster_project.defs.dbt.vars import daily_vars, window_vars
from dagster_project.defs.launched_alone import live_publication, newest_built_day
from dagster_project.defs.nightly.ledger import open_days
from dagster_project.defs.nightly.partitions import Partitionings, days_between
from dagster_project.defs.quality.results import AuditResult, record
from dagster_project.defs.resources import ColiseumDbtResource, ColiseumResource

DAILY_BUILD = "dbt_build"  # per day: gates every later publication until the day passes (defs/nightly/pending.py)
WINDOWS_BUILD = "dbt_build_windows"  # per (as-of date, window): gates staging that date


class ColiseumTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey(dbt_resource_props["name"])  # passport_entries, artist_profiles
        return build_key(dbt_resource_props["name"])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "coliseum"

    def get_partition_mapping(
        self, dbt_resource_props: Mapping[str, Any], dbt_parent_resource_props: Mapping[str, Any]
    ) -> PartitionMapping | None:
        # A window partition (D, w) depends on the daily partition D it adds to the window.
        if "window" in dbt_resource_props.get("tags", []) and "daily" in dbt_parent_resource_props.get("tags", []):
            return MultiToSingleDimensionPartitionMapping(partition_dimension_name="date")
        return None

    def get_asset_check_spec(
        self, asset_spec: AssetSpec, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        return spec._replace(description=describe_test(manifest["nodes"][unique_id], spec.blocking))


def describe_test(test: Mapping[str, Any], blocking: bool) -> str:
    """A dbt test's catalog description: its own, or what it asserts (test, columns, arguments) and its effect."""
    if test.get("description"):
        return test["description"]
    metadata = test.get("test_metadata") or {}
    arguments = {k: v for k, v in (metadata.get("kwargs") or {}).items() if k not in ("model", "column_name")}
    column = test.get("column_name")
    what = f"dbt test {metadata.get('name', test['name'])}" + (f" on {column}" if column else "")
    if arguments:
        what += " (" + ", ".join(f"{k}: {v}" for k, v in sorted(arguments.items())) + ")"
    effect = "blocking: a failure fails the build and holds back publication" if blocking else "warning only"
    return f"{what}; {effect}."


translator = ColiseumTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_code_references=True)
)


def _record_build(
    coliseum: ColiseumResource,
    check: str,
    partitions: list[tuple[str, date | None]],
    run_id: str,
    passed: bool,
    summary: str,
) -> None:
    """A dbt build's outcome per partition (key, and the day it gates, if any) in the audit results."""
    with coliseum.connect() as conn:
        for partition_key, day in partitions:
            result = AuditResult(
                check_name=check,
                asset=f"coliseum/{check}",
                partition_key=partition_key,
                passed=passed,
                blocking=True,
                failing_count=int(not passed),
                summary=summary,
                day=day,
            )
            record(conn, coliseum.settings, result, run_id)


def build_dbt_assets(partitions: Partitionings) -> tuple[AssetsDefinition, AssetsDefinition]:
    """(daily set, window set)."""

    @dbt_assets(
        manifest=coliseum_dbt.manifest_path,
        project=coliseum_dbt,
        select="tag:daily",
        name="coliseum_dbt_daily",
        partitions_def=partitions.daily,
        backfill_policy=partitions.daily_backfill,
        dagster_dbt_translator=translator,
    )
    def coliseum_daily_assets(
        context: AssetExecutionContext, dbt: ColiseumDbtResource, coliseum: ColiseumResource
    ) -> Iterator[Any]:
        settings = coliseum.settings
        if not context.selected_asset_keys:  # dbt tests alone (the UI's Execute on a check): no build, no ledger
            day = newest_built_day(coliseum, "a daily dbt test")
            yield from dbt.build(context, daily_vars(day, day + timedelta(days=1), context.run_id, settings))
            return
        time_window = context.partition_time_window  # one day, or a range in a single-run backfill
        start, end = time_window.start.date(), time_window.end.date()
        days = [(day.isoformat(), day) for day in days_between(start, date.fromordinal(end.toordinal() - 1))]
        with coliseum.connect() as conn:  # open until the ledger step closes them (defs/nightly/ledger.py)
            open_days(conn, settings, start, end, context.run_id)
        try:
            yield from dbt.build(context, daily_vars(start, end, context.run_id, settings))
        except Exception as error:
            # A failed build or dbt test holds back publication of these days until a rerun passes.
            _record_build(coliseum, DAILY_BUILD, days, context.run_id, passed=False, summary=str(error)[:2000])
            raise
        _record_build(coliseum, DAILY_BUILD, days, context.run_id, passed=True, summary="dbt build and tests passed")

    @dbt_assets(
        manifest=coliseum_dbt.manifest_path,
        project=coliseum_dbt,
        select="tag:window",
        name="coliseum_dbt_windows",
        partitions_def=partitions.windows,
        dagster_dbt_translator=translator,
    )
    def coliseum_window_assets(
        context: AssetExecutionContext, dbt: ColiseumDbtResource, coliseum: ColiseumResource
    ) -> Iterator[Any]:
        if not context.selected_asset_keys:  # dbt tests alone (the UI's Execute on a check): no build
            as_of = live_publication(coliseum, "a window dbt test").as_of_date
            yield from dbt.build(context, window_vars(as_of, list(WINDOWS)))
            return
        # One dbt invocation per as-of date for all its selected windows; dates in order (previous_rank).
        windows_by_date: dict[str, list[str]] = {}
        for key in context.partition_keys:
            day, window = key.split("|")
            windows_by_date.setdefault(day, []).append(window)
        for day in sorted(windows_by_date):
            # Recorded per (date, window): a failed window build or dbt test keeps that date from being staged
            # by any later publish run, also one launched on its own (defs/publish/assets.py).
            partitions = [(f"{day}|{window}", None) for window in windows_by_date[day]]
            try:
                yield from dbt.build(context, window_vars(date.fromisoformat(day), windows_by_date[day]))
            except Exception as error:
                _record_build(
                    coliseum, WINDOWS_BUILD, partitions, context.run_id, passed=False, summary=str(error)[:2000]
                )
                raise
            _record_build(
                coliseum, WINDOWS_BUILD, partitions, context.run_id, passed=True, summary="dbt build and tests passed"
            )

    return coliseum_daily_assets, coliseum_window_assets
