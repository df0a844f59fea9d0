"""Write-audit-publish for an as-of date, in one run: stage a candidate, audit it (blocking checks in
defs/quality/checks.py), then switch the published relations to it. A failed blocking check skips the switch."""

from collections.abc import Iterator
from datetime import date, timedelta

from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetRecordsFilter,
    AssetsDefinition,
    AssetSpec,
    DagsterInstance,
    Failure,
    FreshnessPolicy,
    MaterializeResult,
    MultiToSingleDimensionPartitionMapping,
    TableColumn,
    TableSchema,
    asset,
    multi_asset,
)

from dagster_project.contract import (
    BOARD_RELATIONS,
    CANDIDATE_KEY,
    DIA_USER_MATRIX,
    FAN_RELATIONS,
    HISTORY_KEY,
    METRICS,
    MUTATIONS,
    MUTATIONS_KEY,
    SNAPSHOTS,
    USER_DNA,
    USER_DNA_COPY,
    USER_DNA_HISTORY,
    USER_ENTRIES_COPY,
    WINDOWS,
    Relation,
    build_key,
    published_key,
)
from dagster_project.defs.dbt.assets import WINDOWS_BUILD
from dagster_project.defs.nightly.ledger import open_days_through
from dagster_project.defs.nightly.partitions import Partitionings
from dagster_project.defs.nightly.plan import TAG_PUBLISH_OLDER
from dagster_project.defs.publish.publication import candidate_for_run, publish, stage_candidate
from dagster_project.defs.quality.results import blocking_failures_through, failed_builds_of
from dagster_project.defs.resources import ColiseumResource

_by_date = MultiToSingleDimensionPartitionMapping(partition_dimension_name="date")
_HISTORY = HISTORY_KEY
_MUTATIONS = MUTATIONS_KEY


def _latest_timestamp(instance: DagsterInstance, key: AssetKey, partition: str) -> float | None:
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1
    ).records
    return records[0].timestamp if records else None


def readiness_problems(instance: DagsterInstance, as_of_date: date) -> list[str]:
    """What stops D from being staged: a window never built, or built before D's daily data."""
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


# Who answers for the published relations, in the catalog (and where their rules are written).
OWNERS = ["team:coliseum-data"]


def _published_spec(relation: Relation, deps: list, freshness: timedelta) -> AssetSpec:
    """A published relation in the catalog: the contract's description and typed columns, the models it is
    copied from (lineage), and a freshness window (the UI marks it failing when no publish came in it)."""
    return AssetSpec(
        published_key(relation.name),
        deps=deps,
        description=relation.description,
        group_name="published",
        owners=OWNERS,
        kinds={"postgres", "view"},
        freshness_policy=FreshnessPolicy.time_window(fail_window=freshness),
        metadata={
            "dagster/column_schema": TableSchema(columns=[TableColumn(name, kind) for name, kind in relation.columns]),
            "dagster/table_name": f"{relation.name}",
        },
    )


def publish_specs(freshness: timedelta) -> list[AssetSpec]:
    """Boards and snapshots are copied from the candidate (staged from their models); the published mutations,
    metrics and fan views read their models' day-by-day copies, so their lineage skips the candidate. All are
    switched in one step, which runs after the candidate's blocking checks (it needs the boards' candidate)."""
    return [
        *(
            _published_spec(r, [CANDIDATE_KEY, AssetDep(_HISTORY, partition_mapping=_by_date)], freshness)
            for r in BOARD_RELATIONS
        ),
        *(
            _published_spec(r, [CANDIDATE_KEY, AssetDep(build_key(r.name), partition_mapping=_by_date)], freshness)
            for r in SNAPSHOTS
        ),
        *(_published_spec(r, [AssetDep(_MUTATIONS)], freshness) for r in (MUTATIONS, METRICS)),
        *(_published_spec(r, [AssetDep(build_key(m)) for m in _fan_models(r)], freshness) for r in FAN_RELATIONS),
    ]


def _fan_models(relation: Relation) -> list[str]:
    """The build models a fan view's published copies come from (its lineage)."""
    if relation in (USER_DNA, USER_DNA_HISTORY):
        return [USER_DNA_COPY.model]
    if relation == DIA_USER_MATRIX:
        return [USER_ENTRIES_COPY.model, USER_DNA_COPY.model]
    return [USER_ENTRIES_COPY.model]


def build_publish_assets(partitions: Partitionings, freshness: timedelta) -> tuple[AssetsDefinition, AssetsDefinition]:
    """(the candidate, the published relations; `freshness`: how old a publication may get)."""
    specs = publish_specs(freshness)

    @asset(
        key=CANDIDATE_KEY,
        partitions_def=partitions.daily,
        deps=[
            AssetDep(_HISTORY, partition_mapping=_by_date),
            *(AssetDep(build_key(snapshot.name), partition_mapping=_by_date) for snapshot in SNAPSHOTS),
        ],
        group_name="coliseum",
        description="Write: the as-of date's boards and marts staged under a new publication id (not yet visible).",
    )
    def publication_candidate(context: AssetExecutionContext, coliseum: ColiseumResource) -> MaterializeResult:
        settings = coliseum.settings
        as_of_date = date.fromisoformat(context.partition_key)
        with coliseum.connect() as conn:
            # Most actionable first; each audit summary shortened (the metadata keeps one line per problem).
            opened = open_days_through(conn, settings, as_of_date)
            problems = []
            if opened:
                problems.append(
                    f"{len(opened)} day(s) rebuilt and not audited (killed, failed or still running): "
                    + ", ".join(f"{day} by run {run_id}" for day, run_id in opened[:5])
                    + "; run the nightly plan (it rebuilds them first)"
                )
            problems += readiness_problems(context.instance, as_of_date)
            problems += [
                f"the dbt build of window {partition} failed: {summary.splitlines()[0][:200] if summary else ''}"
                for partition, summary in failed_builds_of(conn, settings, WINDOWS_BUILD, f"{as_of_date.isoformat()}|")
            ]
            problems += [
                f"audit {check} failed for {partition}: {summary.splitlines()[0][:200] if summary else ''}"
                for check, partition, summary in blocking_failures_through(conn, settings, as_of_date)
            ]
            if problems:
                raise Failure(
                    description=f"Not staging {as_of_date}: " + "; ".join(problems),
                    metadata={"problems": "\n".join(problems)},
                )
            publication_id = stage_candidate(conn, settings, as_of_date, context.run_id)
        return MaterializeResult(metadata={"publication_id": publication_id, "as_of_date": as_of_date.isoformat()})

    @multi_asset(specs=specs, partitions_def=partitions.daily, name="publish_relations")
    def publish_relations(context: AssetExecutionContext, coliseum: ColiseumResource) -> Iterator[MaterializeResult]:
        settings = coliseum.settings
        with coliseum.connect() as conn:
            candidate, as_of_date = candidate_for_run(conn, settings, context.run_id)
            allow_older = context.run.tags.get(TAG_PUBLISH_OLDER) == "true"
            publication = publish(conn, settings, candidate, allow_older=allow_older)
        context.log.info(f"published {as_of_date} as publication {publication.publication_id}")
        for spec in specs:
            name = spec.key.path[-1]
            metadata = {"publication_id": publication.publication_id, "as_of_date": as_of_date.isoformat()}
            if name in publication.row_counts:
                metadata["row_count"] = publication.row_counts[name]
            yield MaterializeResult(asset_key=spec.key, metadata=metadata)

    return publication_candidate, publish_relations
