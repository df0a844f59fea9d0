"""The publish step: a separate asset that switches all published relations at once for an as-of date."""

from collections.abc import Iterator
from datetime import date

from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetRecordsFilter,
    AssetSpec,
    DagsterInstance,
    Failure,
    MaterializeResult,
    MultiToSingleDimensionPartitionMapping,
    multi_asset,
)

from dagster_project.assets.dbt import build_key
from dagster_project.partitions import daily_partitions
from dagster_project.publish import BOARDS, board_name, publish
from dagster_project.resources import PostgresResource
from dagster_project.settings import WINDOWS, get_settings

PUBLISHED_PREFIX = "published"

_by_date = MultiToSingleDimensionPartitionMapping(partition_dimension_name="date")
_HISTORY = build_key("coliseum_leaderboard_history")
_STRENGTH = build_key("coliseum_domain_strength")
_MUTATIONS = build_key("coliseum_dna_mutations")


def published_key(name: str) -> AssetKey:
    return AssetKey([PUBLISHED_PREFIX, name])


PUBLISH_SPECS = [
    *(
        AssetSpec(
            published_key(board_name(domain, window)),
            deps=[AssetDep(_HISTORY, partition_mapping=_by_date)],
            description=f"Published leaderboard, domain {domain}, window {window} (a view).",
            group_name="published",
        )
        for domain, window in BOARDS
    ),
    AssetSpec(
        published_key("coliseum_domain_strength"),
        deps=[AssetDep(_STRENGTH, partition_mapping=_by_date)],
        description="Published domain strength for the as-of date, all windows (a view).",
        group_name="published",
    ),
    AssetSpec(
        published_key("coliseum_dna_mutations"),
        deps=[AssetDep(_MUTATIONS)],
        description="Published mutations up to the as-of date (a live view over the mutation log).",
        group_name="published",
    ),
]


def _latest_timestamp(instance: DagsterInstance, key: AssetKey, partition: str) -> float | None:
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1
    ).records
    return records[0].timestamp if records else None


def readiness_problems(instance: DagsterInstance, as_of_date: date) -> list[str]:
    """What stops D from being published: a window never built, or built before D's daily data."""
    day = as_of_date.isoformat()
    daily_at = _latest_timestamp(instance, _MUTATIONS, day)
    if daily_at is None:
        return [f"{_MUTATIONS.to_user_string()} [{day}] was never materialized"]
    problems = []
    for window in WINDOWS:
        partition = f"{day}|{window}"
        built_at = _latest_timestamp(instance, _HISTORY, partition)
        if built_at is None:
            problems.append(f"{_HISTORY.to_user_string()} [{partition}] was never materialized")
        elif built_at < daily_at:
            problems.append(f"{_HISTORY.to_user_string()} [{partition}] is older than the day's mutations")
    return problems


@multi_asset(specs=PUBLISH_SPECS, partitions_def=daily_partitions, name="publish_relations")
def coliseum_publish(context: AssetExecutionContext, postgres: PostgresResource) -> Iterator[MaterializeResult]:
    as_of_date = date.fromisoformat(context.partition_key)
    problems = readiness_problems(context.instance, as_of_date)
    if problems:
        raise Failure(
            description="Not publishing " + as_of_date.isoformat() + ": " + "; ".join(problems),
            metadata={"problems": "\n".join(problems)},
        )
    with postgres.connect() as conn:
        publication = publish(conn, get_settings(), as_of_date, context.run_id)
    context.log.info(f"published {as_of_date} as publication {publication.publication_id}")
    for spec in PUBLISH_SPECS:
        name = spec.key.path[-1]
        metadata = {"publication_id": publication.publication_id, "as_of_date": as_of_date.isoformat()}
        if name in publication.row_counts:
            metadata["row_count"] = publication.row_counts[name]
        yield MaterializeResult(asset_key=spec.key, metadata=metadata)
