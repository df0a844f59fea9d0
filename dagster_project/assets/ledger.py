"""The daily ledger: the last step of a daily run.

Once every daily model and every blocking check of the run's days has passed (Dagster skips this step
otherwise), one transaction marks the entries that staging read as processed (by the ctids it read, so an
entry committed meanwhile is never claimed unread) and records each day's audited mutations (count and
sum) for publish. A run killed or failed before this step leaves its entries unprocessed: the next run
finds them and rebuilds their days. Nothing is marked done before everything derived from it has committed.
"""

from datetime import date

import psycopg
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset
from psycopg import sql

from dagster_project.assets.dbt import BUILD_PREFIX, coliseum_daily_assets
from dagster_project.partitions import daily_partitions
from dagster_project.publish import ensure_infrastructure
from dagster_project.resources import PostgresResource
from dagster_project.settings import Settings, get_settings

LEDGER_KEY = AssetKey([BUILD_PREFIX, "coliseum_daily_ledger"])

# A TID scan of the rows staging read (never a scan of the log), joined back on the id to be exact.
MARK_SQL = """
with staged as materialized (
    select passport_entry_id, unnest(source_ctids) as source_ctid
    from {build}.stg_passport__entries
    where activity_date >= %(start)s and activity_date < %(end)s
)
update {source}.passport_entries as entry
set coliseum_processed_at = now()
from staged
where entry.ctid = any(array(select source_ctid from staged))
  and entry.ctid = staged.source_ctid
  and entry.id is not distinct from staged.passport_entry_id
  and entry.coliseum_processed_at is null
"""

RECORD_SQL = """
insert into {build}.coliseum_daily_ledger (day, run_id, mutations, delta_sum, audited_at)
select days.day::date, %(run_id)s, count(m.passport_entry_id), coalesce(sum(m.effective_delta), 0), now()
from generate_series(%(start)s::date, %(end)s::date - 1, interval '1 day') as days (day)
left join {build}.coliseum_dna_mutations as m on m.activity_date = days.day::date
group by days.day
on conflict (day) do update set
    run_id = excluded.run_id, mutations = excluded.mutations, delta_sum = excluded.delta_sum,
    audited_at = excluded.audited_at
"""


def close_days(conn: psycopg.Connection, settings: Settings, start: date, end: date, run_id: str) -> int:
    """Mark the days [start, end) processed and audited, in one transaction; returns the entries marked."""
    build, source = sql.Identifier(settings.build_schema), sql.Identifier(settings.source_schema)
    params = {"start": start, "end": end, "run_id": run_id}
    with conn.transaction():
        ensure_infrastructure(conn, settings)
        marked = conn.execute(sql.SQL(MARK_SQL).format(source=source, build=build), params).rowcount
        conn.execute(sql.SQL(RECORD_SQL).format(build=build), params)
    return marked


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
