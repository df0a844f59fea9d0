"""The dbt project handle and its manifest, prepared once at install/test/CLI time, never at import."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from dagster_project.settings import DBT_PROJECT_DIR

# dbt (and dagster) are console scripts beside this interpreter; an unactivated venv must still find them.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")

coliseum_dbt = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
# Under `dagster dev` the manifest is rebuilt on load, so edits show up without a manual step.
coliseum_dbt.prepare_if_dev()

_SOURCES = ("models", "macros", "seeds", "tests", "dbt_project.yml")


def _newest_source_mtime(project_dir: Path) -> float:
    newest = 0.0
    for name in _SOURCES:
        path = project_dir / name
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        newest = max([newest, *(f.stat().st_mtime for f in files)])
    return newest


def ensure_manifest() -> Path:
    """Run `dbt parse` when the manifest is missing or older than the dbt sources; return its path."""
    manifest = coliseum_dbt.manifest_path
    if not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime(coliseum_dbt.project_dir):
        coliseum_dbt.preparer.prepare(coliseum_dbt)
    return manifest
