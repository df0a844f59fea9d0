"""`coliseum verify`: is this database in the state the code expects? Objects, columns and types (contract.py),
the source columns the pipeline reads, the schema's migration, and whether the last publication reconciles and
is fresh. Read-only: it runs as a role with nothing but SELECT (tests/integration/test_verify.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

from dagster_project.contract import BOARD_NAMES, CONTRACT, ENTITLEMENTS, FUNCTIONS, SOURCES
from dagster_project.db.connection import run
from dagster_project.db.migrations import LATEST_VERSION, existing_app_roles, schema_version
from dagster_project.defs.publish.publication import current_publication
from dagster_project.settings import Settings


@dataclass
class Finding:
    object: str
    status: str  # ok | warning (reported, not drift) | missing | wrong_columns | drift | stale
    detail: str = ""


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.status in ("ok", "warning") for f in self.findings)

    def as_dict(self) -> dict:
        return {"ok": self.ok, "findings": [asdict(f) for f in self.findings]}


def _columns(conn: psycopg.Connection, schema: str, name: str) -> dict[str, str] | None:
    rows = conn.execute(
        "select column_name, data_type from information_schema.columns where table_schema = %s and table_name = %s",
        (schema, name),
    ).fetchall()
    return dict(rows) if rows else None


def _compare(name: str, actual: dict[str, str] | None, expected: dict[str, set[str]]) -> Finding:
    if actual is None:
        return Finding(name, "missing", "relation does not exist")
    problems = []
    for column, types in expected.items():
        if column not in actual:
            problems.append(f"column {column} missing")
        elif actual[column] not in types:
            problems.append(f"column {column} is {actual[column]}, expected {' or '.join(sorted(types))}")
    return Finding(name, "wrong_columns" if problems else "ok", "; ".join(problems))


def verify(conn: psycopg.Connection, settings: Settings, now: datetime | None = None) -> Report:
    report = Report()
    for name, columns in SOURCES.items():
        actual = _columns(conn, settings.source_schema, name)
        report.findings.append(_compare(f"{settings.source_schema}.{name}", actual, columns))
    for relation in CONTRACT:
        actual = _columns(conn, settings.publish_schema, relation.name)
        expected = {column: {kind} for column, kind in relation.columns}
        report.findings.append(_compare(f"{settings.publish_schema}.{relation.name}", actual, expected))
    for name, args in FUNCTIONS.items():
        signature = f"{settings.publish_schema}.{name}({args})"
        exists = conn.execute("select to_regprocedure(%s)", (signature,)).fetchone()[0]
        report.findings.append(Finding(signature, "ok" if exists else "missing", "" if exists else "function missing"))
    version = schema_version(conn, settings)
    report.findings.append(
        Finding(
            f"{settings.build_schema} schema",
            "ok" if version >= LATEST_VERSION else "missing",
            f"migration {version}"
            + ("" if version >= LATEST_VERSION else f" of {LATEST_VERSION}: run coliseum init-db"),
        )
    )
    report.findings.extend(_grants(conn, settings))
    report.findings.extend(_last_run(conn, settings, now or datetime.now(UTC)))
    return report


# Privileges an app role (Supabase: anon, authenticated, reachable through the REST API) must not hold on the
# log, the profiles or the entitlements: each lets any app user forge, erase or rewrite what the boards count.
DANGEROUS = ("INSERT", "UPDATE", "DELETE", "TRUNCATE", "TRIGGER", "REFERENCES")


def _grants(conn: psycopg.Connection, settings: Settings) -> list[Finding]:
    """A warning per table the app roles can write or that has no row-level security. `init-db` locks down the
    tables it creates; an app table that existed before is the app's to fix, so this is reported, not drift."""
    roles = existing_app_roles(conn, settings)
    tables = [(settings.source_schema, name) for name in SOURCES] + [(settings.publish_schema, ENTITLEMENTS.name)]
    findings = []
    for schema, table in tables:
        relation = f"{schema}.{table}"
        secured = conn.execute(
            "select c.relrowsecurity from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = %s and c.relname = %s",
            (schema, table),
        ).fetchone()
        if secured is None:
            continue  # reported as missing above
        problems = [
            f"{role} may {', '.join(granted)}"
            for role in roles
            if (granted := [p for p in DANGEROUS if _has_privilege(conn, role, relation, p)])
        ]
        if not secured[0]:
            problems.append("row-level security is off")
        if problems:
            findings.append(Finding(f"{relation} grants", "warning", "; ".join(problems)))
    return findings


def _has_privilege(conn: psycopg.Connection, role: str, relation: str, privilege: str) -> bool:
    return conn.execute("select has_table_privilege(%s, %s, %s)", (role, relation, privilege)).fetchone()[0]


def _last_run(conn: psycopg.Connection, settings: Settings, now: datetime) -> list[Finding]:
    """Does the last publication reconcile (read -> mutations -> rollups -> boards) and is it fresh?"""
    try:
        publication = current_publication(conn, settings)
    except psycopg.Error as error:
        conn.rollback()
        return [Finding("last run", "missing", f"cannot read publications: {error}")]
    if publication is None:
        return [Finding("last run", "missing", "nothing has been published")]
    target = sql.Identifier(settings.publish_schema)
    findings = []
    try:
        mutations, rolled_up, staged, counted = run(
            conn,
            settings,
            "select (select count(*) from {build}.coliseum_dna_mutations where activity_date <= %(d)s), "
            "(select coalesce(sum(event_count), 0) from {build}.int_artist_domain_daily where activity_date <= %(d)s), "
            "staged.n, staged.counted from (select count(*) as n, count(*) filter (where rejection_reason is null) "
            "as counted from {build}.stg_passport__entries where activity_date <= %(d)s and not swept) as staged",
            {"d": publication.as_of_date},
        ).fetchone()
        present = [
            name
            for name in BOARD_NAMES
            if conn.execute("select to_regclass(%s)", (f"{settings.publish_schema}.{name}",)).fetchone()[0]
        ]
        ranked = {
            name: conn.execute(sql.SQL("select count(*) from {}.{}").format(target, sql.Identifier(name))).fetchone()[0]
            for name in present
        }
    except psycopg.Error as error:
        conn.rollback()
        return [Finding("last run", "drift", f"cannot reconcile: {error}")]
    recorded = {name: publication.row_counts.get(name) for name in BOARD_NAMES}
    detail = (
        f"as of {publication.as_of_date}: {staged} entries read, {counted} counted, {mutations} mutations, "
        f"{rolled_up} in the daily rollups, {max(ranked.values(), default=0)} artists on the largest board"
    )
    mismatched = [name for name in present if ranked[name] != recorded[name]]
    if mutations != rolled_up or mismatched:
        problems = [f"mutations {mutations} != rollups {rolled_up}"] if mutations != rolled_up else []
        problems += [f"{name}: {ranked[name]} rows, publication recorded {recorded[name]}" for name in mismatched]
        findings.append(Finding("last run", "drift", detail + "; " + "; ".join(problems)))
    else:
        findings.append(Finding("last run", "ok", detail))
    # Only entries already due: a malformed one may be dated at +infinity, which Python cannot represent.
    newest = conn.execute(
        sql.SQL("select max(created_at) from {}.passport_entries where created_at <= %s").format(
            sql.Identifier(settings.source_schema)
        ),
        (now,),
    ).fetchone()[0]
    age = now - publication.published_at if publication.published_at else None
    if (
        newest
        and age is not None
        and newest > publication.published_at
        and age > timedelta(hours=settings.freshness_hours)
    ):
        findings.append(Finding("freshness", "stale", f"published {age} ago; the log has entries up to {newest}"))
    else:
        findings.append(Finding("freshness", "ok", f"published {age} ago" if age else "never published"))
    return findings
