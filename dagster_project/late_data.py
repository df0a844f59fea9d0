"""Days that still have entries the pipeline has not processed: new days, and late events in old days."""

from __future__ import annotations

from datetime import date

import psycopg
from psycopg import sql

from dagster_project.settings import Settings


def pending_days(conn: psycopg.Connection, settings: Settings, through: date) -> list[date]:
    """UTC days up to `through` with unprocessed entries (served by the partial index on unprocessed rows)."""
    rows = conn.execute(
        sql.SQL(
            """
            select distinct (created_at at time zone 'UTC')::date as day
            from {}.passport_entries
            where coliseum_processed_at is null
              and created_at < (%s::date + 1)::timestamp at time zone 'UTC'
            order by day
            """
        ).format(sql.Identifier(settings.source_schema)),
        (through,),
    ).fetchall()
    return [row[0] for row in rows]


def late_days(conn: psycopg.Connection, settings: Settings) -> list[date]:
    """Already processed days that received entries afterwards: they need a rerun to count them."""
    build = sql.Identifier(settings.build_schema)
    exists = conn.execute("select to_regclass(%s)", (f"{settings.build_schema}.stg_passport__entries",)).fetchone()[0]
    if exists is None:
        return []
    last_processed = conn.execute(sql.SQL("select max(activity_date) from {}.stg_passport__entries").format(build))
    last = last_processed.fetchone()[0]
    if last is None:
        return []
    return pending_days(conn, settings, last)
