"""Every audit result, per check and partition, in `coliseum_audit_results` (db/migrations.py): the publish
gate and the alerts read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from dagster_project.settings import Settings


@dataclass(kw_only=True)
class AuditResult:
    check_name: str
    asset: str
    passed: bool
    blocking: bool
    partition_key: str = ""
    failing_count: int = 0
    summary: str = ""
    sample: list[Any] = field(default_factory=list)
    day: date | None = None


def record(conn: psycopg.Connection, settings: Settings, result: AuditResult, run_id: str) -> None:
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


def failed_builds_of(conn: psycopg.Connection, settings: Settings, check: str, prefix: str) -> list[tuple[str, str]]:
    """(partition, summary) of the partitions starting with `prefix` whose latest result of `check` failed."""
    return conn.execute(
        sql.SQL(
            """
            select partition_key, summary from (
                select distinct on (partition_key) partition_key, passed, summary
                from {}.coliseum_audit_results
                where check_name = %s and partition_key like %s
                order by partition_key, audit_id desc
            ) latest
            where not passed
            order by partition_key
            """
        ).format(sql.Identifier(settings.build_schema)),
        (check, prefix + "%"),
    ).fetchall()
