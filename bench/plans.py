"""--explain: what the nightly's SQL reads. EXPLAIN (ANALYZE, BUFFERS) of the main log read and of the late-data
detection (printed in full), and of every dbt model the last nightly compiled (summarised: its scans, biggest
first), so a scan that grows with history stands out next to the ones that read one day."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from dagster_project.db.connection import connect
from dagster_project.settings import Settings

SCAN_NODES = ("Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan")
SCANS_SHOWN = 3


class ExplainingConnection(psycopg.Connection):
    """Runs EXPLAIN (ANALYZE, BUFFERS) of each statement instead of it, so the plan is of the pipeline's exact SQL."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> psycopg.Cursor:  # type: ignore[override]
        statement = query if isinstance(query, sql.Composable) else sql.SQL(query)
        return super().execute(sql.SQL("explain (analyze, buffers) ") + statement, params, **kwargs)


def log_reads(url: str, settings: Settings, day: date) -> dict[str, list[str]]:
    """The staging model's read of day D, and late_data.pending_days's read of the log as the runner runs it."""
    from dagster_project.defs.nightly.pending import arrivals_query

    day_read = sql.SQL("select * from {}.passport_entries where created_at >= {} and created_at < {}").format(
        sql.Identifier(settings.source_schema),
        sql.Literal(f"{day.isoformat()} 00:00+00"),
        sql.Literal(f"{(day + timedelta(days=1)).isoformat()} 00:00+00"),
    )
    with psycopg.connect(url) as plain:
        arrivals, params = arrivals_query(plain, settings, day)
    with ExplainingConnection.connect(url) as conn:
        return {
            "nightly day read (stg_passport__entries source)": [row[0] for row in conn.execute(day_read)],
            "late-data detection (late_data.pending_days)": [row[0] for row in conn.execute(arrivals, params)],
        }


def compiled_models(invocation_dirs: list[Path]) -> list[Path]:
    """The model SELECTs dbt compiled and ran in these invocations (tests live in folders named after their
    .yml). Views are left out: their build runs no SELECT, and the SELECT alone reads their whole input."""
    found = []
    for directory in invocation_dirs:
        views = _views(directory)
        found += [
            path
            for path in (directory / "compiled").rglob("*.sql")
            if "models" in path.parts and not path.parent.name.endswith(".yml") and path.stem not in views
        ]
    return sorted(found)


def _views(invocation_dir: Path) -> set[str]:
    manifest = json.loads((invocation_dir / "manifest.json").read_text())
    return {
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["materialized"] == "view"
    }


def model_scans(url: str, models: list[Path]) -> dict[str, dict[str, Any]]:
    """Per model: its execution time when run again now, the 8 kB pages it touched (and of those, read from
    outside shared_buffers), and every table scan with the rows it produced."""
    found = {}
    with connect(url) as conn:
        for path in models:
            plan = conn.execute(
                sql.SQL("explain (analyze, buffers, format json) ") + sql.SQL(path.read_text())
            ).fetchone()[0][0]
            scans = sorted(_scans(plan["Plan"]), key=lambda scan: -scan["rows"])
            top = plan["Plan"]
            found[path.stem] = {
                "seconds": plan["Execution Time"] / 1000,
                "pages": top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0),
                "pages_read": top.get("Shared Read Blocks", 0),
                "scans": scans,
            }
        conn.rollback()  # read-only anyway; nothing of the re-run is kept
    return found


def _scans(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if node["Node Type"] in SCAN_NODES:
        yield {
            "node": node["Node Type"],
            "relation": node["Relation Name"],
            "index": node.get("Index Name"),
            "rows": int(node.get("Actual Rows", 0) * node.get("Actual Loops", 1)),
            "loops": int(node.get("Actual Loops", 1)),
        }
    for child in node.get("Plans", []):
        yield from _scans(child)


def models_total(models: dict[str, dict[str, Any]]) -> dict[str, float]:
    """The nightly's model SELECTs together: time, rows scanned and pages touched. Rows and pages do not depend
    on the machine's cache, so they show whether the nightly's reads grow with the history."""
    return {
        "seconds": sum(found["seconds"] for found in models.values()),
        "rows_scanned": sum(scan["rows"] for found in models.values() for scan in found["scans"]),
        "pages": sum(found.get("pages", 0) for found in models.values()),
        "pages_read": sum(found.get("pages_read", 0) for found in models.values()),
    }


def model_lines(models: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    for name, found in sorted(models.items(), key=lambda item: -item[1]["seconds"]):
        scans = ", ".join(
            f"{scan['node']} {scan['relation']}{' x' + str(scan['loops']) if scan['loops'] > 1 else ''}"
            f" ({scan['rows']:,} rows)"
            for scan in found["scans"][:SCANS_SHOWN]
        )
        lines.append(f"  {name:<32}{found['seconds']:>8.2f} s  {scans}")
    return lines
