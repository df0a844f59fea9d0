"""`coliseum init-db`: create the source tables the pipeline reads, idempotently and additively.

Safe on an existing Supabase-style database: only CREATE ... IF NOT EXISTS and ADD COLUMN IF NOT EXISTS,
never DROP, never a rewrite of app data. Indexes are built CONCURRENTLY so the app keeps writing.
"""

from __future__ import annotations

from psycopg import sql

from dagster_project.database import connect
from dagster_project.entitlements import ensure_entitlements
from dagster_project.settings import Settings, get_settings

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
    (
        "passport_entries_unprocessed_idx",
        "{schema}.passport_entries (created_at) where coliseum_processed_at is null",
    ),
)


def init_db(url: str, settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    schema = sql.Identifier(settings.source_schema)
    with connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("create schema if not exists {}").format(schema))
        for ddl in (PASSPORT_ENTRIES_DDL, ARTIST_PROFILES_DDL, ADD_PROCESSED_COLUMN):
            conn.execute(sql.SQL(ddl).format(schema=schema))
        # The app's entitlements table exists before the first publication (billing may write it first).
        ensure_entitlements(conn, settings)
        for name, definition in INDEXES:
            _drop_invalid_index(conn, settings.source_schema, name)
            conn.execute(
                sql.SQL("create index concurrently if not exists {} on " + definition).format(
                    sql.Identifier(name), schema=schema
                )
            )


def _drop_invalid_index(conn, schema: str, name: str) -> None:
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
