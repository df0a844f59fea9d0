"""The daily ledger step of a daily run (see dagster_project/ledger.py)."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from dagster_project.assets.dbt import BUILD_PREFIX, coliseum_daily_assets
from dagster_project.ledger import close_days
from dagster_project.partitions import daily_partitions
from dagster_project.resources import PostgresResource
from dagster_project.settings import get_settings

LEDGER_KEY = AssetKey([BUILD_PREFIX, "coliseum_daily_ledger"])


@asset(
    key=LEDGER_KEY,
    partitions_def=daily_partitions,
    deps=list(coliseum_daily_assets.keys),
    group_name="coliseum",
    description=(
        "The days' entries marked processed and their audited mutations recorded, once every daily model and "
        "blocking check passed (a killed or failed run leaves them to the next run)."
    ),
)
def coliseum_daily_ledger(context: AssetExecutionContext, postgres: PostgresResource) -> MaterializeResult:
    window = context.partition_time_window
    start, end = window.start.date(), window.end.date()
    with postgres.connect() as conn:
        marked = close_days(conn, get_settings(), start, end, context.run_id)
    return MaterializeResult(metadata={"entries_marked": marked, "days": (end - start).days})
