"""The schema's one owner: init-db is additive and repeatable; migrations run once, in order, and report the
version a read path can check."""

from __future__ import annotations

import psycopg
import pytest

from dagster_project.db.migrations import LATEST_VERSION, MIGRATIONS, init_db, migrate, schema_version
from tests.support.database import create_database, drop_database


def test_init_db_twice_keeps_data(database):
    with database.connect() as conn:
        conn.execute("insert into public.passport_entries (user_id, event_type) values (gen_random_uuid(), 'x')")
    init_db(database.url, database.settings)
    init_db(database.url, database.settings)
    assert database.query("select count(*) from public.passport_entries where event_type = 'x'") == [(1,)]
    columns = {
        r[0]
        for r in database.query(
            "select column_name from information_schema.columns where table_name = 'passport_entries'"
        )
    }
    assert {"id", "metadata", "processed_by_coliseum", "processed_at", "coliseum_processed_at"} <= columns
    indexes = {r[0] for r in database.query("select indexname from pg_indexes where tablename = 'passport_entries'")}
    assert {"passport_entries_created_at_idx", "passport_entries_unprocessed_idx"} <= indexes


def test_a_migrated_database_is_current_and_migrating_again_is_a_no_op(database):
    with psycopg.connect(database.url) as conn:
        assert schema_version(conn, database.settings) == LATEST_VERSION
        assert migrate(conn, database.settings) == []
        assert migrate(conn, database.settings) == []
        applied = conn.execute("select version from coliseum.coliseum_schema_migrations order by 1").fetchall()
    assert [v for (v,) in applied] == [version for version, _d, _s in MIGRATIONS]


@pytest.fixture
def empty_database(admin_url):
    url = create_database(admin_url)
    yield url
    drop_database(admin_url, url)


def test_migrate_applies_every_version_once_on_an_empty_database(empty_database, database):
    settings = database.settings.with_changes(database_url=empty_database)
    with psycopg.connect(empty_database) as conn:
        assert schema_version(conn, settings) == 0, "a read path sees a never-migrated schema"
        assert migrate(conn, settings) == [version for version, _d, _s in MIGRATIONS]
        assert schema_version(conn, settings) == LATEST_VERSION
        assert migrate(conn, settings) == []
        tables = {
            name
            for (name,) in conn.execute(
                "select table_name from information_schema.tables where table_schema = 'coliseum'"
            )
        }
    assert {
        "coliseum_schema_migrations",
        "coliseum_publications",
        "coliseum_daily_ledger",
        "coliseum_audit_results",
        "coliseum_nightly_plans",
        "coliseum_published_strength",
    } <= tables
