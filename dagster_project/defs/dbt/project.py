"""The dbt project handle and its manifest, prepared at install/test/CLI time, never at import."""

from __future__ import annotations

from pathlib import Path

from dagster_dbt import DbtCliInvocation, DbtProject

from dagster_project.settings import DBT_PROJECT_DIR

coliseum_dbt = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

_SOURCES = ("models", "macros", "seeds", "tests", "dbt_project.yml")


def _newest_source_mtime(project_dir: Path) -> float:
    newest = 0.0
    for name in _SOURCES:
        path = project_dir / name
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        newest = max([newest, *(f.stat().st_mtime for f in files)])
    return newest


def manifest_is_current() -> bool:
    manifest = coliseum_dbt.manifest_path
    return manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime(coliseum_dbt.project_dir)


def start_manifest(dbt) -> DbtCliInvocation | None:
    """Start `dbt parse` (through the given dbt resource: the run's profile) when the manifest is missing or
    older than the dbt sources, in its own process: the caller may work meanwhile and `wait()` for it."""
    return None if manifest_is_current() else dbt.cli(["parse", "--quiet"], target_path=coliseum_dbt.target_path)


def ensure_manifest(dbt) -> Path:
    """`start_manifest` and wait for it; return the manifest's path."""
    parsing = start_manifest(dbt)
    if parsing is not None:
        parsing.wait()
    return coliseum_dbt.manifest_path
