"""Integration fixtures: a real Postgres (embedded, or the server COLISEUM_DATABASE_URL names), one fresh
database per module, the real dbt manifest, and real Dagster runs on an ephemeral instance. Session fixtures
here are only created when an integration test asks for them."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance

from dagster_project.db.connection import start_embedded
from dagster_project.db.migrations import init_db
from tests.support.database import TestDatabase, create_database, drop_database, settings_for


@pytest.fixture(autouse=True, scope="session")
def _manifest(dbt_manifest: Path) -> Path:
    return dbt_manifest


@pytest.fixture(scope="session")
def admin_url() -> Iterator[str]:
    configured = os.environ.get("COLISEUM_DATABASE_URL")  # the test run's own edge: which server to test on
    if configured:
        yield configured
        return
    # Not under pytest's basetemp: every pytest session that starts on this machine (another checkout's too)
    # resets /tmp/pytest-of-<user> to mode 0700, and the server, which runs as its own system user, then loses
    # its data directory mid-run (PANIC: could not open file ".../global/pg_control": Permission denied).
    root = Path(tempfile.mkdtemp(prefix="coliseum-test-pg-"))
    server = start_embedded(root / "data", stop_at_exit=True)  # the package's own start: same tuning as the CLI
    yield server.get_uri()
    server.cleanup()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def database(admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabase]:
    """A fresh database with the sources created and the build schema migrated."""
    url = create_database(admin_url)
    home = tmp_path_factory.mktemp("coliseum_home")
    settings = settings_for(url, home)
    init_db(url, settings)
    with DagsterInstance.ephemeral() as instance:
        yield TestDatabase(url, settings, instance, home)
    drop_database(admin_url, url)
