"""The one owner of Coliseum's schema: every table, column, index and schema the pipeline creates outside dbt.

Two parts:
- **Sources** (`init_db`): the app's tables the pipeline reads (`passport_entries`, `artist_profiles`), the
  `coliseum_processed_at` column, the log's indexes (built CONCURRENTLY, so the app keeps writing) and the
  app's `coliseum_entitlements` table. Additive only: CREATE ... IF NOT EXISTS and ADD COLUMN IF NOT EXISTS,
  never a DROP or a rewrite of app data; safe on an existing Supabase database.
- **Migrations** (`migrate`): the pipeline's own tables in the build schema (publications and their
  snapshots, the daily ledger, the published mutations, the audit results, the alerts sent, nightly plans),
  versioned in `coliseum_schema_migrations`. Each version runs once, in one transaction, under an advisory
  lock (two runs starting together would deadlock on each other's ALTER TABLE). Every statement is idempotent,
  so a database created before the versions existed is brought up to date the same way.

`init-db` runs both; every Dagster run starts with `migrate` (a single SELECT once current). Read paths
(`coliseum verify`, sensors, checks) never run DDL: they report a schema that is behind (`schema_version`).
dbt owns the models' tables; publish owns the published views and functions it repoints.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from dagster_project.contract import DAY_COPIES, ENTITLEMENTS, SNAPSHOTS, USER_DNA_COPY, USER_ENTRIES_COPY
from dagster_project.db.connection import connect
from dagster_project.settings import Settings

MIGRATIONS_LOCK = "coliseum.migrations"

# (version, what it creates, statements). {build} is the build schema. Append; never edit a released version.
MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (
        1,
        "publications, their board snapshots, the daily ledger and the published mutations",
        (
            """
            create table if not exists {build}.coliseum_publications (
                publication_id bigserial primary key,
                as_of_date date not null,
                dagster_run_id text,
                staged_at timestamptz not null default now(),
                published_at timestamptz,
                status text not null default 'candidate',
                row_counts jsonb,
                ledger_version text
            )
            """,
            # Tables created before candidates existed: their rows were published directly.
            "alter table {build}.coliseum_publications add column if not exists status text not null "
            "default 'published'",
            "alter table {build}.coliseum_publications add column if not exists staged_at timestamptz",
            "alter table {build}.coliseum_publications alter column published_at drop not null",
            "alter table {build}.coliseum_publications alter column published_at drop default",
            "alter table {build}.coliseum_publications add column if not exists ledger_version text",
            """
            create table if not exists {build}.coliseum_published_leaderboards (
                publication_id bigint not null,
                domain text not null,
                "window" text not null,
                rank bigint not null,
                entity_id uuid not null,
                artist_name text,
                score numeric not null,
                event_count bigint not null,
                unique_fans bigint not null,
                previous_rank bigint,
                rank_change bigint,
                as_of_date date not null
            )
            """,
            "create index if not exists coliseum_published_leaderboards_idx "
            'on {build}.coliseum_published_leaderboards (publication_id, domain, "window", rank)',
            # Per day: the run rebuilding it (set when its daily run starts, cleared once everything derived
            # passed its checks) and its last audited build, which publish copies (defs/nightly/ledger.py).
            """
            create table if not exists {build}.coliseum_daily_ledger (
                day date primary key,
                building_run_id text,
                run_id text,
                mutations bigint,
                delta_sum numeric,
                audited_at timestamptz
            )
            """,
            "alter table {build}.coliseum_daily_ledger add column if not exists building_run_id text",
            """
            create table if not exists {build}.coliseum_published_mutations (
                passport_entry_id uuid not null,
                entity_id uuid not null,
                domain text not null,
                event_type text not null,
                effective_delta numeric(18, 4) not null,
                weight_version text not null,
                created_at timestamptz not null,
                activity_date date not null
            )
            """,
            "create index if not exists coliseum_published_mutations_day_idx "
            "on {build}.coliseum_published_mutations (activity_date)",
            "create index if not exists coliseum_published_mutations_entity_idx "
            "on {build}.coliseum_published_mutations (entity_id)",
            # The audited build of each day that coliseum_published_mutations holds.
            "create table if not exists {build}.coliseum_published_days (day date primary key, run_id text not null)",
        ),
    ),
    (
        2,
        "audit results and alerts sent",
        (
            """
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
            )
            """,
            "create index if not exists coliseum_audit_results_latest_idx "
            "on {build}.coliseum_audit_results (check_name, partition_key, audit_id desc)",
            """
            create table if not exists {build}.coliseum_alerts_sent (
                alert_key text primary key,
                sent_at timestamptz not null default now()
            )
            """,
        ),
    ),
    (
        3,
        "snapshot tables of the window marts, typed by the contract",
        tuple(
            statement
            for snapshot in SNAPSHOTS
            for statement in (
                f"create table if not exists {{build}}.{snapshot.snapshot_table} (publication_id bigint not null, "
                + ", ".join(f'"{name}" {kind}' for name, kind in snapshot.columns)
                + ")",
                f"create index if not exists {snapshot.snapshot_table}_idx "
                f"on {{build}}.{snapshot.snapshot_table} (publication_id)",
            )
        ),
    ),
    (
        4,
        "nightly plans: the stages a scheduled chain runs, read by the chain sensor",
        (
            """
            create table if not exists {build}.coliseum_nightly_plans (
                chain text primary key,
                as_of_date date not null,
                plan jsonb not null,
                publish_older boolean not null default false,
                created_at timestamptz not null default now()
            )
            """,
        ),
    ),
    (
        5,
        "published copies of the fan side: the users' counted entries and their DNA running sums",
        (
            *(
                f"create table if not exists {{build}}.{copy.table} ("
                + ", ".join(f'"{name}" {kind}' for name, kind in copy.columns)
                + ")"
                for copy in DAY_COPIES
            ),
            *(
                f"create index if not exists {copy.table}_day_idx on {{build}}.{copy.table} (activity_date)"
                for copy in DAY_COPIES
            ),
            # One user's newest entries first (the DIA timeline's read), and each user's sessions and artists.
            f"create index if not exists {USER_ENTRIES_COPY.table}_user_idx "
            f"on {{build}}.{USER_ENTRIES_COPY.table} (user_id, created_at desc)",
            f"create unique index if not exists {USER_DNA_COPY.table}_key_idx "
            f"on {{build}}.{USER_DNA_COPY.table} (user_id, activity_date)",
            f"create index if not exists {USER_DNA_COPY.table}_valid_until_idx "
            f"on {{build}}.{USER_DNA_COPY.table} (valid_until)",
        ),
    ),
)
LATEST_VERSION = MIGRATIONS[-1][0]


def schema_version(conn: psycopg.Connection, settings: Settings) -> int:
    """The build schema's applied version (0: never migrated). Read-only."""
    table = f"{settings.build_schema}.coliseum_schema_migrations"
    if conn.execute("select to_regclass(%s)", (table,)).fetchone()[0] is None:
        return 0
    query = sql.SQL("select coalesce(max(version), 0) from {}.coliseum_schema_migrations")
    return conn.execute(query.format(sql.Identifier(settings.build_schema))).fetchone()[0]


def migrate(conn: psycopg.Connection, settings: Settings) -> list[int]:
    """Apply the versions this database lacks, in order; returns them (empty once current)."""
    if schema_version(conn, settings) >= LATEST_VERSION:
        return []
    build = sql.Identifier(settings.build_schema)
    applied: list[int] = []
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (MIGRATIONS_LOCK,))
        conn.execute(sql.SQL("create schema if not exists {}").format(build))
        conn.execute(
            sql.SQL(
                "create table if not exists {}.coliseum_schema_migrations (version integer primary key, "
                "description text not null, applied_at timestamptz not null default now())"
            ).format(build)
        )
        done = {
            row[0] for row in conn.execute(sql.SQL("select version from {}.coliseum_schema_migrations").format(build))
        }
        for version, description, statements in MIGRATIONS:
            if version in done:
                continue
            for statement in statements:
                conn.execute(sql.SQL(statement).format(build=build))
            conn.execute(
                sql.SQL("insert into {}.coliseum_schema_migrations (version, description) values (%s, %s)").format(
                    build
                ),
                (version, description),
            )
            applied.append(version)
    return applied


# --- sources: the app's tables (init-db) -------------------------------------------------------------------

# id is deliberately not a primary key here: the landing table must be able to hold what an app or a
# replication feed really sends (duplicates, missing ids), so the pipeline can quarantine it visibly.
PASSPORT_ENTRIES_DDL = """
create table if not exists {schema}.passport_entries (
    id uuid default gen_random_uuid(),
    user_id uuid,
    session_id uuid,
    device_id text,
    event_type text,
    event_category text,
    entity_type text,
    entity_id text,
    metadata jsonb default '{{}}'::jsonb,
    processed_by_mediaid boolean default false,
    processed_by_treasury boolean default false,
    processed_by_coliseum boolean default false,
    processed_at timestamptz,
    created_at timestamptz default now()
)
"""

ARTIST_PROFILES_DDL = """
create table if not exists {schema}.artist_profiles (
    id uuid primary key default gen_random_uuid(),
    user_id uuid,
    artist_name text,
    bio text,
    verified boolean default false,
    created_at timestamptz default now()
)
"""

ADD_PROCESSED_COLUMN = (
    "alter table {schema}.passport_entries add column if not exists coliseum_processed_at timestamptz"
)

# (name, definition): created concurrently, outside a transaction.
INDEXES: tuple[tuple[str, str], ...] = (
    # Refunds are checked against the transaction they name; ids are looked up one by one.
    ("passport_entries_id_idx", "{schema}.passport_entries (id)"),
    # Each nightly partition reads one day of the log.
    ("passport_entries_created_at_idx", "{schema}.passport_entries (created_at)"),
    # Late-data detection looks only at what the pipeline has not processed yet.
    ("passport_entries_unprocessed_idx", "{schema}.passport_entries (created_at) where coliseum_processed_at is null"),
)

ENTITLEMENTS_DDL = """
create table if not exists {target}.coliseum_entitlements (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null unique,
    plan text not null check (plan in ('free', 'basic', 'pro', 'enterprise')),
    domains text[] check (domains <@ array['A', 'T', 'G', 'C']),
    leaderboard_depth integer check (leaderboard_depth > 0),
    expires_at timestamptz,
    stripe_subscription_id text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
)
"""

# Supabase defines auth.uid() from the request's JWT; elsewhere the same definition stands in for it.
AUTH_UID_DDL = (
    "create schema if not exists auth",
    """
    create or replace function auth.uid() returns uuid language sql stable as $$
        select nullif(coalesce(
            current_setting('request.jwt.claim.sub', true),
            (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
        ), '')::uuid
    $$
    """,
)

OWN_ROW_POLICY = "coliseum_entitlements_own_row"


def init_db(url: str, settings: Settings) -> None:
    """Create the sources and the app's entitlements table (additively), then migrate the build schema.

    A source table that init-db creates is locked down for the app roles (row-level security on, no privilege:
    the app writes the log through its service role); one that exists already is the app's, and is never
    altered beyond the pipeline's column and indexes (`coliseum verify` warns about dangerous grants on it)."""
    schema = sql.Identifier(settings.source_schema)
    with connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("create schema if not exists {}").format(schema))
        for table, ddl in (("passport_entries", PASSPORT_ENTRIES_DDL), ("artist_profiles", ARTIST_PROFILES_DDL)):
            created = not _exists(conn, settings.source_schema, table)
            conn.execute(sql.SQL(ddl).format(schema=schema))
            if created:
                _lock_down(conn, settings, settings.source_schema, table)
        conn.execute(sql.SQL(ADD_PROCESSED_COLUMN).format(schema=schema))
        # The app's entitlements table exists before the first publication (billing may write it first).
        _entitlements(conn, settings)
        for name, definition in INDEXES:
            _drop_invalid_index(conn, settings.source_schema, name)
            conn.execute(
                sql.SQL("create index concurrently if not exists {} on " + definition).format(
                    sql.Identifier(name), schema=schema
                )
            )
        migrate(conn, settings)


def _exists(conn: psycopg.Connection, schema: str, table: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (f"{schema}.{table}",)).fetchone()[0]


def existing_app_roles(conn: psycopg.Connection, settings: Settings) -> list[str]:
    """The configured app roles that exist in this database (Supabase: anon, authenticated)."""
    rows = conn.execute("select rolname from pg_roles where rolname = any(%s)", (list(settings.app_roles),))
    return sorted(row[0] for row in rows)


def _lock_down(conn: psycopg.Connection, settings: Settings, schema: str, table: str, read: bool = False) -> None:
    """Row-level security on, and nothing for the app roles but (with `read`) SELECT, which the table's
    policies narrow. Supabase's default privileges give them every privilege on a new table in public,
    TRUNCATE and TRIGGER included, and an API that reaches it."""
    relation = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
    conn.execute(sql.SQL("alter table {} enable row level security").format(relation))
    roles = existing_app_roles(conn, settings)
    if not roles:
        return
    role_list = sql.SQL(", ").join(map(sql.Identifier, roles))
    conn.execute(sql.SQL("revoke all on {} from {}").format(relation, role_list))
    if read:
        conn.execute(sql.SQL("grant select on {} to {}").format(relation, role_list))


def _entitlements(conn: psycopg.Connection, settings: Settings) -> None:
    """The app's table, auth.uid() where Supabase does not provide it, and its own-row read policy. Billing
    writes it through its service role; the app roles may only read their own row."""
    target = sql.Identifier(settings.publish_schema)
    conn.execute(sql.SQL("create schema if not exists {}").format(target))
    conn.execute(sql.SQL(ENTITLEMENTS_DDL).format(target=target))
    if conn.execute("select to_regprocedure('auth.uid()')").fetchone()[0] is None:
        for ddl in AUTH_UID_DDL:
            conn.execute(ddl)
    _lock_down(conn, settings, settings.publish_schema, ENTITLEMENTS.name, read=True)
    exists = conn.execute(
        "select 1 from pg_policies where schemaname = %s and tablename = %s and policyname = %s",
        (settings.publish_schema, ENTITLEMENTS.name, OWN_ROW_POLICY),
    ).fetchone()
    if not exists:
        conn.execute(
            sql.SQL("create policy {} on {}.{} for select using (user_id = auth.uid())").format(
                sql.Identifier(OWN_ROW_POLICY), target, sql.Identifier(ENTITLEMENTS.name)
            )
        )


def _drop_invalid_index(conn: psycopg.Connection, schema: str, name: str) -> None:
    """An interrupted CREATE INDEX CONCURRENTLY leaves an INVALID index that IF NOT EXISTS would keep."""
    invalid = conn.execute(
        """
        select 1 from pg_index i
        join pg_class c on c.oid = i.indexrelid
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = %s and c.relname = %s and not i.indisvalid
        """,
        (schema, name),
    ).fetchone()
    if invalid:
        conn.execute(sql.SQL("drop index concurrently {}.{}").format(sql.Identifier(schema), sql.Identifier(name)))
