"""The daily ledger: what each day's build is, in `coliseum_daily_ledger`.

A daily run opens its days (`building_run_id`) before dbt touches them. Its last step, once every daily model
and every blocking check of the days has passed (Dagster skips it otherwise), closes them: it marks the entries
that staging read as processed (by the ctids it read, so an entry committed meanwhile is never claimed unread),
then records each day's audited mutations (count and sum) for publish, which closes the days. A run killed or
failed before the record leaves its days open, whatever it marked: the next run rebuilds them (a day's build
reads all of its entries, marked or not), and no candidate is staged over an open day. Nothing is marked done
before everything derived from it committed.
"""

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import psycopg
from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult, asset
from psycopg import sql

from dagster_project.contract import LEDGER_KEY
from dagster_project.db.connection import connect
from dagster_project.defs.nightly.partitions import Partitionings
from dagster_project.defs.resources import ColiseumResource
from dagster_project.settings import Settings

# A TID scan of the rows staging read (never a scan of the log), joined back on the id to be exact. Each of
# MARK_PARTS connections marks the rows of one share of the log's pages (block number parity): each update
# writes a new row version and its index entries, and two side by side took a 1M day's 14,705 marks from
# 0.53-0.66 s to 0.23-0.26 s (four: no faster on two cores).
MARK_PARTS = 2
MARK_SQL = """
with staged as materialized (
    select staged.passport_entry_id, source_ctid
    from {build}.stg_passport__entries as staged, unnest(staged.source_ctids) as source_ctid
    where staged.activity_date >= %(start)s and staged.activity_date < %(end)s
      and (source_ctid::text::point)[0]::bigint %% %(parts)s = %(part)s
)
update {source}.passport_entries as entry
set coliseum_processed_at = now()
from staged
where entry.ctid = any(array(select source_ctid from staged))
  and entry.ctid = staged.source_ctid
  and entry.id is not distinct from staged.passport_entry_id
  and entry.coliseum_processed_at is null
"""

OPEN_SQL = """
insert into {build}.coliseum_daily_ledger (day, building_run_id)
select day::date, %(run_id)s from generate_series(%(start)s::date, %(end)s::date - 1, interval '1 day') as day
on conflict (day) do update set building_run_id = excluded.building_run_id
"""

# One range scan of the mutations' activity_date index per day: as a join of the days with the mutations, the
# planner (1,000 rows estimated for generate_series) merged them and read the index from the log's first day
# (0.4 s at 1M events, 3 s at 10M: the nightly ledger's growth with the history).
RECORD_SQL = """
insert into {build}.coliseum_daily_ledger (day, building_run_id, run_id, mutations, delta_sum, audited_at)
select days.day::date, null, %(run_id)s, counted.mutations, counted.delta_sum, now()
from generate_series(%(start)s::date, %(end)s::date - 1, interval '1 day') as days (day)
cross join lateral (
    select count(*) as mutations, coalesce(sum(m.effective_delta), 0) as delta_sum
    from {build}.coliseum_dna_mutations as m
    where m.activity_date = days.day::date
) as counted
on conflict (day) do update set
    building_run_id = null, run_id = excluded.run_id, mutations = excluded.mutations,
    delta_sum = excluded.delta_sum, audited_at = excluded.audited_at
"""


def open_days(conn: psycopg.Connection, settings: Settings, start: date, end: date, run_id: str) -> None:
    """Record that `run_id` is rebuilding the days [start, end): until closed, they are pending and unpublishable."""
    with conn.transaction():
        params = {"start": start, "end": end, "run_id": run_id}
        conn.execute(sql.SQL(OPEN_SQL).format(build=sql.Identifier(settings.build_schema)), params)


def open_days_through(conn: psycopg.Connection, settings: Settings, through: date) -> list[tuple[date, str]]:
    """Days up to `through` that a run opened and never closed (killed, failed or still running)."""
    if (
        conn.execute("select to_regclass(%s)", (f"{settings.build_schema}.coliseum_daily_ledger",)).fetchone()[0]
        is None
    ):
        return []  # a database never migrated (read paths never create it)
    return conn.execute(
        sql.SQL(
            "select day, building_run_id from {}.coliseum_daily_ledger where building_run_id is not null "
            "and day <= %s order by day"
        ).format(sql.Identifier(settings.build_schema)),
        (through,),
    ).fetchall()


def last_closed_day(conn: psycopg.Connection, settings: Settings) -> date | None:
    """The newest day whose build passed and was closed: what a daily check launched on its own audits."""
    return conn.execute(
        sql.SQL(
            "select max(day) from {}.coliseum_daily_ledger where building_run_id is null and audited_at is not null"
        ).format(sql.Identifier(settings.build_schema))
    ).fetchone()[0]


def mark_processed(url: str, settings: Settings, start: date, end: date) -> int:
    """Mark the entries staging read for the days [start, end) processed (MARK_PARTS transactions side by side,
    each its own share of the log's pages); returns the entries marked. Days stay open until `close_days`."""
    build, source = sql.Identifier(settings.build_schema), sql.Identifier(settings.source_schema)
    query = sql.SQL(MARK_SQL).format(source=source, build=build)

    def mark(part: int) -> int:
        with connect(url) as conn, conn.transaction():
            params = {"start": start, "end": end, "part": part, "parts": MARK_PARTS}
            return conn.execute(query, params).rowcount

    with ThreadPoolExecutor(MARK_PARTS) as pool:
        return sum(pool.map(mark, range(MARK_PARTS)))


def close_days(conn: psycopg.Connection, settings: Settings, start: date, end: date, run_id: str) -> None:
    """Record the days [start, end) audited (their mutations' count and sum) and closed, in one transaction."""
    params = {"start": start, "end": end, "run_id": run_id}
    with conn.transaction():
        conn.execute(sql.SQL(RECORD_SQL).format(build=sql.Identifier(settings.build_schema)), params)


def build_ledger_asset(partitions: Partitionings, daily_assets: AssetsDefinition) -> AssetsDefinition:
    """The last step of a daily run, downstream of every daily model (and so of their blocking checks)."""

    @asset(
        key=LEDGER_KEY,
        partitions_def=partitions.daily,
        backfill_policy=partitions.daily_backfill,
        deps=list(daily_assets.keys),
        group_name="coliseum",
        description=(
            "The days' entries marked processed and their audited mutations recorded, once every daily model and "
            "blocking check passed (a killed or failed run leaves them to the next run)."
        ),
    )
    def coliseum_daily_ledger(context: AssetExecutionContext, coliseum: ColiseumResource) -> MaterializeResult:
        window = context.partition_time_window
        start, end = window.start.date(), window.end.date()
        marked = mark_processed(coliseum.url(), coliseum.settings, start, end)
        with coliseum.connect() as conn:
            close_days(conn, coliseum.settings, start, end, context.run_id)
        return MaterializeResult(metadata={"entries_marked": marked, "days": (end - start).days})

    return coliseum_daily_ledger
