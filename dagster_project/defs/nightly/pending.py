"""Which days a run must (re)build: days with unprocessed entries, every day whose meaning an arrival changes
(an id seen again with another content, a refund's ranking, a refund's payment), days a run opened and never
closed (killed), and days whose last blocking daily audit failed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import psycopg
from psycopg import sql

from dagster_project.defs.nightly.ledger import open_days_through
from dagster_project.defs.nightly.plan import Plan, nightly_plan
from dagster_project.defs.publish.publication import current_publication
from dagster_project.settings import Settings

UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

# New entries: unprocessed ones, whatever their date (an entry not yet due still changes what its id means).
# A day is pending when it holds one of them, or holds:
#  - another copy of a new entry's id (a conflicting duplicate quarantines every copy, wherever it is);
#  - a staged refund naming a new entry's id (its payment arrived or changed: refund_of_unknown_transaction,
#    payment_not_found or the reversed amount move);
#  - a staged refund of a payment that a new refund names, or that a staged refund sharing a new entry's id
#    names (the earliest valid refund of a payment reverses it: a new one can take or lose that slot).
# Only due days count: in [platform start, through]; later ones wait for their own night.
PENDING_SQL = """
with new as materialized (
    select id, created_at, event_type, metadata from {source}.passport_entries
    where coliseum_processed_at is null
),
new_ids as (
    select distinct id from new where id is not null
),
{staged_ctes}
touched as (
    select created_at, null::date as activity_date from new
    union all
    select other.created_at, null from {source}.passport_entries as other where other.id in (select id from new_ids)
    {staged_union}
)
select distinct coalesce(activity_date, (created_at at time zone 'UTC')::date) as day
from touched
where coalesce(activity_date >= %(platform_start)s::date and activity_date <= %(through)s::date,
               created_at >= %(platform_start)s::date::timestamp at time zone 'UTC'
               and created_at < (%(through)s::date + 1)::timestamp at time zone 'UTC')
order by day
"""

STAGED_CTES = """
refunded_payments as (
    select case when metadata ->> 'refunded_transaction_id' ~* %(uuid)s
                then (metadata ->> 'refunded_transaction_id')::uuid end as payment_id
    from new where event_type = 'treasury.refund'
    union
    select staged.refunded_transaction_id from {build}.stg_passport__entries as staged
    where staged.passport_entry_id in (select id from new_ids) and staged.refunded_transaction_id is not null
),
"""

# Two branches, not an OR: each is a probe of staging's refunded_transaction_id index (an OR scanned it all).
STAGED_UNION = """
    union all
    select null, staged.activity_date from {build}.stg_passport__entries as staged
    where not staged.swept and staged.refunded_transaction_id in (select id from new_ids)
    union all
    select null, staged.activity_date from {build}.stg_passport__entries as staged
    where not staged.swept and staged.refunded_transaction_id in (select payment_id from refunded_payments)
"""


def _exists(conn: psycopg.Connection, relation: str) -> bool:
    return conn.execute("select to_regclass(%s)", (relation,)).fetchone()[0] is not None


def pending_days(conn: psycopg.Connection, settings: Settings, through: date) -> list[date]:
    """UTC days up to `through` that a run must build so that it equals a full rebuild of the log."""
    query, params = arrivals_query(conn, settings, through)
    days = {row[0] for row in conn.execute(query, params).fetchall()}
    opened = {day for day, _run in open_days_through(conn, settings, through)}
    return sorted(days | opened | set(failed_days(conn, settings, through)))


def arrivals_query(conn: psycopg.Connection, settings: Settings, through: date) -> tuple[sql.Composed, dict]:
    """The days of unprocessed entries and of what they invalidate (PENDING_SQL), for this database."""
    build, source = sql.Identifier(settings.build_schema), sql.Identifier(settings.source_schema)
    staged = _exists(conn, f"{settings.build_schema}.stg_passport__entries")  # not on a first run
    query = sql.SQL(PENDING_SQL).format(
        source=source,
        staged_ctes=sql.SQL(STAGED_CTES).format(build=build) if staged else sql.SQL(""),
        staged_union=sql.SQL(STAGED_UNION).format(build=build) if staged else sql.SQL(""),
    )
    return query, {"through": through, "platform_start": settings.platform_start, "uuid": UUID_PATTERN}


def failed_days(conn: psycopg.Connection, settings: Settings, through: date) -> list[date]:
    """Days whose latest blocking daily audit failed (a dbt test, a GX suite, the reconciliation): retried by
    every run until they pass, even when a run launched from the UI had nothing new to read."""
    if not _exists(conn, f"{settings.build_schema}.coliseum_audit_results"):
        return []
    return [
        day
        for (day,) in conn.execute(
            sql.SQL(
                """
                select distinct day from (
                    select distinct on (check_name, day) day, passed
                    from {}.coliseum_audit_results
                    where blocking and day is not null and day <= %s
                    order by check_name, day, audit_id desc
                ) latest
                where not passed
                """
            ).format(sql.Identifier(settings.build_schema)),
            (through,),
        )
    ]


def late_days(conn: psycopg.Connection, settings: Settings) -> list[date]:
    """Days up to the last audited one that must be rebuilt (late or conflicting arrivals, a killed or
    failed run)."""
    ledger = f"{settings.build_schema}.coliseum_daily_ledger"
    if not _exists(conn, ledger):
        return []
    last = conn.execute(
        sql.SQL("select max(day) from {}.coliseum_daily_ledger").format(sql.Identifier(settings.build_schema))
    ).fetchone()[0]
    return pending_days(conn, settings, last) if last else []


@dataclass(frozen=True)
class PlannedRun:
    """A nightly plan, the date it publishes, and the live as-of date that publication replaces."""

    plan: Plan
    publish_date: date
    live_as_of: date | None
    publish_older: bool

    def describe(self) -> str:
        if self.live_as_of is None or self.publish_date == self.live_as_of:
            return f"publishes {self.publish_date}"
        if self.publish_date > self.live_as_of:
            return f"publishes {self.publish_date} (live: {self.live_as_of})"
        return f"publishes {self.publish_date}, replacing the newer live publication as of {self.live_as_of}"


def plan_run(
    conn: psycopg.Connection, settings: Settings, as_of_dates: list[date], publish_older: bool = False
) -> PlannedRun:
    """The plan for building `as_of_dates`. When they are older than the live publication, the live as-of
    date is rebuilt and republished after them (recovery never rolls the app back) unless `publish_older`."""
    live = current_publication(conn, settings)
    live_as_of = live.as_of_date if live else None
    target = max(as_of_dates)
    publish_date = live_as_of if live_as_of and target < live_as_of and not publish_older else target
    pending = pending_days(conn, settings, max(target, publish_date))
    plan = nightly_plan(
        as_of_dates,
        pending,
        first_day=settings.partitions_start,
        publish_date=publish_date,
        max_days_per_run=settings.max_days_per_run,
    )
    return PlannedRun(plan, publish_date, live_as_of, publish_older and target < (live_as_of or target))
