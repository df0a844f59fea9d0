"""Fixtures shared by both tiers, and the tiers themselves: every test under tests/unit/ is marked `unit` (no
database, no dbt run), every test under tests/integration/ `integration` (real Postgres, dbt, Dagster, GX).

The dbt manifest is prepared once per session (unit tests that load the definitions ask for it; every
integration test gets it through tests/integration/conftest.py). Postgres is only started by the fixtures in
tests/integration/conftest.py, so `pytest -m unit` never starts it."""

from __future__ import annotations

import fcntl
from pathlib import Path

import pytest

from dagster_project.settings import DBT_PROJECT_DIR, Settings

TIERS = ("unit", "integration")
# `dbt parse` never connects: an address nobody listens on keeps the embedded Postgres from starting.
PARSE_ONLY_URL = "postgresql://coliseum@127.0.0.1:9/coliseum_unit"


# The longest modules (about 2-2.5 min each on this 2-core machine) start first: xdist hands out whole modules
# (--dist loadfile) in collection order (--no-loadscope-reorder: by default it puts modules with the most tests
# first, and the one-test differential module then started last, keeping one worker busy minutes after the
# other had finished).
LONGEST_FIRST = ("test_differential.py", "test_trust.py", "test_gate.py", "test_reruns.py", "test_cli.py")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    root = Path(__file__).parent
    for item in items:
        relative = item.path.relative_to(root).parts
        if relative and relative[0] in TIERS:
            item.add_marker(getattr(pytest.mark, relative[0]))
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order


@pytest.fixture(scope="session")
def offline_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings for code that needs no database (definitions, plans, dbt args)."""
    home = tmp_path_factory.mktemp("coliseum_offline")
    return Settings.from_env({"COLISEUM_DATABASE_URL": PARSE_ONLY_URL, "COLISEUM_HOME": str(home)})


@pytest.fixture(scope="session")
def dbt_manifest(offline_settings: Settings) -> Path:
    from dagster_project.defs.dbt.project import ensure_manifest
    from dagster_project.defs.resources import build_resources

    # pytest-xdist workers share dbt/target: one parses, the others wait and read its manifest.
    with open(DBT_PROJECT_DIR / ".manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return ensure_manifest(build_resources(offline_settings)["dbt"])
