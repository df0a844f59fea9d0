"""Migrations, read as data: versions strictly increasing, every statement safe to run again."""

from __future__ import annotations

import re

from dagster_project.db import migrations
from dagster_project.db.migrations import LATEST_VERSION, MIGRATIONS

# What an idempotent statement looks like: guarded by IF NOT EXISTS, or a change that is a no-op when done.
IDEMPOTENT = (
    re.compile(r"^create (unique )?(table|index|schema) if not exists "),
    re.compile(r"^alter table \S+ add column if not exists "),
    re.compile(r"^alter table \S+ alter column \S+ drop (not null|default)$"),
    re.compile(r"^create or replace function "),
)


def normalized(statement: str) -> str:
    return re.sub(r"\s+", " ", statement).strip().lower()


def test_versions_are_strictly_increasing_from_one():
    versions = [version for version, _description, _statements in MIGRATIONS]
    assert versions == list(range(1, len(versions) + 1))
    assert versions[-1] == LATEST_VERSION
    assert all(description for _v, description, _s in MIGRATIONS)


def test_every_migration_statement_is_idempotent():
    for version, _description, statements in MIGRATIONS:
        assert statements, version
        for statement in statements:
            text = normalized(statement)
            assert any(p.match(text) for p in IDEMPOTENT), f"version {version}: {text[:120]}"
            assert " drop table" not in text and "truncate" not in text and "delete from" not in text


def test_the_sources_ddl_is_additive():
    statements = [
        migrations.PASSPORT_ENTRIES_DDL,
        migrations.ARTIST_PROFILES_DDL,
        migrations.ADD_PROCESSED_COLUMN,
        migrations.ENTITLEMENTS_DDL,
        *migrations.AUTH_UID_DDL,
    ]
    for statement in statements:
        text = normalized(statement)
        assert any(p.match(text) for p in IDEMPOTENT), text[:120]
    for name, definition in migrations.INDEXES:
        assert name.startswith("passport_entries_") and definition.startswith("{schema}.passport_entries (")
