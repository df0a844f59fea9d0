"""What a pipeline run spent where: dbt node times from run_results.json, Dagster step and run durations."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from dagster import DagsterInstance

from dagster_project.settings import Settings

# dagster-dbt names each invocation's target dir "<op name>-<run id[:7]>-<random>" (pruned to the newest 40).
INVOCATION_GLOB = "coliseum_dbt_*"


def _run_prefix(path: Path) -> str:
    parts = path.name.split("-")
    return parts[1] if len(parts) == 3 else ""


def invocation_dirs(settings: Settings, run_ids: list[str], started_at: float) -> list[Path]:
    """The target dirs of these runs' dbt invocations (in the settings' home: Settings.dbt_target_dir)."""
    prefixes = {run_id[:7] for run_id in run_ids}
    return sorted(
        path
        for path in settings.dbt_target_dir.glob(INVOCATION_GLOB)
        if path.is_dir() and _run_prefix(path) in prefixes and path.stat().st_mtime >= started_at - 1
    )


def dbt_timing(settings: Settings, run_ids: list[str], started_at: float) -> dict[str, Any]:
    """Sum of dbt node execution times (models, tests, seeds) of the runs: the SQL the pipeline ran."""
    nodes: dict[str, float] = {}
    invocations = []
    missing = []
    for path in invocation_dirs(settings, run_ids, started_at):
        results_file = path / "run_results.json"
        if not results_file.exists():
            missing.append(path.name)  # failed before writing, or pruned by another session
            continue
        run_results = json.loads(results_file.read_text())
        results = run_results["results"]
        for result in results:
            nodes[result["unique_id"]] = nodes.get(result["unique_id"], 0.0) + result["execution_time"]
        invocations.append(
            {
                "dir": path.name,
                "nodes": len(results),
                "seconds": sum(r["execution_time"] for r in results),
                "execution_wall": run_results["elapsed_time"],
                "parse": parse_seconds(path / "dbt.log"),
            }
        )
    by_kind: dict[str, float] = defaultdict(float)
    for unique_id, seconds in nodes.items():
        by_kind[unique_id.split(".", 1)[0]] += seconds
    return {
        "seconds": sum(nodes.values()),
        "by_kind": dict(by_kind),
        "invocations": invocations,
        "missing_run_results": missing,
        "nodes": nodes,
    }


def parse_seconds(log_file: Path) -> float | None:
    """dbt start to "Found N models" in its JSON log: the parse every invocation pays before any SQL."""
    if not log_file.exists():
        return None
    started = None
    for line in log_file.read_text().splitlines():
        try:
            info = json.loads(line)["info"]
        except (ValueError, KeyError):
            continue  # not a JSON log line
        at = datetime.fromisoformat(info["ts"].replace("Z", "+00:00")).timestamp()
        started = started if started is not None else at
        if info["name"] == "FoundStats":
            return at - started
    return None


def step_seconds(instance: DagsterInstance, run_ids: list[str]) -> dict[str, float]:
    """Wall time of every Dagster step of the runs (dbt assets, GX checks, publish), keyed by step."""
    steps: dict[str, float] = defaultdict(float)
    for run_id in run_ids:
        for stat in instance.get_run_step_stats(run_id):
            if stat.start_time and stat.end_time:
                steps[stat.step_key] += stat.end_time - stat.start_time
    return dict(steps)


def run_seconds(instance: DagsterInstance, run_ids: list[str]) -> float:
    """Wall time inside the Dagster runs; the rest of run_pipeline is planning and the summary queries."""
    total = 0.0
    for run_id in run_ids:
        stats = instance.get_run_stats(run_id)
        if stats.start_time and stats.end_time:
            total += stats.end_time - stats.start_time
    return total


def event_count(instance: DagsterInstance, run_ids: list[str]) -> int:
    """Entries the runs wrote to the Dagster event log: about 10-15 ms each on the SQLite storage, and a run over
    N daily partitions writes two per asset and partition (planned, then materialized)."""
    return sum(len(instance.all_logs(run_id)) for run_id in run_ids)
