"""Every audit result, per check and partition, in Postgres: the publish gate and the alerts read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from dagster_project.settings import Settings

DDL = """
create table if not exists {build}.coliseum_audit_results (
    audit_id bigserial primary key,
    check_name text not null,
    asset text not null,
    partition_key text not null,
    day date,
    run_id text not null,
    passed boolean not null,
    blocking boolean not null,
    failing_count bigint not null default 0,
    summary text,
    sample jsonb,
    evaluated_at timestamptz not null default clock_timestamp()
);
create index if not exists coliseum_audit_results_latest_idx
    on {build}.coliseum_audit_results (check_name, partition_key, audit_id desc);
"""


@dataclass
class AuditResult:
    check_name: str
    asset: str
    partition_key: str
    passed: bool
    blocking: bool
    failing_count: int = 0
    summary: str = ""
    sample: list[Any] = field(default_factory=list)
    day: date | None = None


def ensure_table(conn: psycopg.Connection, settings: Settings) -> None:
    # The source suite runs before dbt has created the build schema on a new database.
    conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(settings.build_schema)))
    conn.execute(sql.SQL(DDL).format(build=sql.Identifier(settings.build_schema)))


def record(conn: psycopg.Connection, settings: Settings, result: AuditResult, run_id: str) -> None:
    ensure_table(conn, settings)
    conn.execute(
        sql.SQL(
            "insert into {}.coliseum_audit_results (check_name, asset, partition_key, day, run_id, passed, blocking, "
            "failing_count, summary, sample) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        ).format(sql.Identifier(settings.build_schema)),
        (
            result.check_name,
            result.asset,
            result.partition_key,
            result.day,
            run_id,
            result.passed,
            result.blocking,
            result.failing_count,
            result.summary,
            Jsonb(result.sample[:10]),
        ),
    )


def blocking_failures_through(conn: psycopg.Connection, settings: Settings, as_of: date) -> list[tuple[str, str, str]]:
    """(check, partition, summary) of every daily blocking audit whose latest result for a day <= as_of failed."""
    ensure_table(conn, settings)
    return conn.execute(
        sql.SQL(
            """
            select check_name, partition_key, summary from (
                select distinct on (check_name, partition_key) *
                from {}.coliseum_audit_results
                where blocking and day is not null and day <= %s
                order by check_name, partition_key, audit_id desc
            ) latest
            where not passed
            order by partition_key, check_name
            """
        ).format(sql.Identifier(settings.build_schema)),
        (as_of,),
    ).fetchall()
