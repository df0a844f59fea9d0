"""Ratios, the printed tables, the summary and the targets (bench/README.md says how to read them)."""

from __future__ import annotations

from typing import Any

from bench.plans import model_lines, models_total

# (key in result["operations"], label)
ROWS: tuple[tuple[str, str], ...] = (
    ("floor", "FLOOR: one scan of the log"),
    ("legacy", "LEGACY: refill + 12 MV refreshes"),
    ("full_rebuild", "FULL REBUILD: pipeline from empty"),
    ("nightly", "NIGHTLY: end to end"),
    ("nightly_sql", "NIGHTLY: SQL alone (dbt nodes)"),
    ("nightly_overhead", "NIGHTLY: orchestration overhead"),
)
LARGEST_NIGHTLY_MAX_X_LEGACY = 0.2
NIGHTLY_OVERHEAD_MAX_SECONDS = 8.0
FULL_REBUILD_MAX_X_FLOOR = 10.0
PEAK_RSS_MAX_MB = 1536.0
FLAT_MAX_GROWTH = 1.5
TOP_STEPS = 5


def add_ratios(result: dict[str, Any]) -> None:
    """x FLOOR and x LEGACY of every operation's median."""
    operations = result["operations"]
    floor, legacy = operations["floor"]["median"], operations["legacy"]["median"]
    for timing in operations.values():
        timing["x_floor"] = timing["median"] / floor if floor else None
        timing["x_legacy"] = timing["median"] / legacy if legacy else None


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def size_table(result: dict[str, Any]) -> str:
    history = result["history"]
    lines = [
        f"== {result['events']:,} events: {result['days']} days of history ({history['first_day']}.."
        f"{history['last_day']}, {history['artists']:,} artists), new day of {result['day_events']:,} events ==",
        f"{'operation':<36}{'median s':>10}{'min s':>10}{'max s':>10}{'x FLOOR':>10}{'x LEGACY':>10}",
    ]
    for key, label in ROWS:
        t = result["operations"][key]
        lines.append(
            f"{label:<36}{t['median']:>10.2f}{t['min']:>10.2f}{t['max']:>10.2f}"
            f"{_ratio(t['x_floor']):>10}{_ratio(t['x_legacy']):>10}"
        )
    lines.append(_rebuild_line(result))
    lines.append(_steps_line(result))
    lines.append(_nodes_line(result))
    lines.extend(f"WARNING: {problem}" for problem in result["problems"])
    rss = result["peak_rss_mb"]
    by_operation = ", ".join(f"{k} {v:.0f} MB" for k, v in rss.get("pipeline_by_operation", {}).items())
    lines.append(
        f"peak RSS: pipeline process {rss['pipeline']:.0f} MB ({by_operation}; generator process "
        f"{rss['generator']:.0f} MB)"
    )
    return "\n".join(lines)


def _rebuild_line(result: dict[str, Any]) -> str:
    run = result["full_rebuild"]["runs"][-1]
    steps = list(run.get("steps", {}).items())[:TOP_STEPS]
    events = run.get("dagster_events")
    return (
        f"full rebuild: {run['days']} days, {events if events is not None else '?'} Dagster events; slowest steps (s): "
        + ", ".join(f"{k} {v:.1f}" for k, v in steps)
    )


def _steps_line(result: dict[str, Any]) -> str:
    nightly = result["nightly"]
    steps = list(nightly["steps"].items())[:TOP_STEPS]
    return (
        f"nightly: {nightly['dbt_invocations']} dbt invocations parsing {nightly['dbt_parse']['median']:.1f} s "
        f"in all; slowest Dagster steps (median s): " + ", ".join(f"{k} {v:.1f}" for k, v in steps)
    )


def _nodes_line(result: dict[str, Any]) -> str:
    nodes = list(result["nightly"]["dbt_nodes"].items())[:TOP_STEPS]
    return "nightly's slowest dbt nodes (median s): " + ", ".join(f"{k.split('.')[-1]} {v:.2f}" for k, v in nodes)


def summary_lines(results: list[dict[str, Any]]) -> list[str]:
    lines = ["== summary: nightly cost against history =="]
    for result in results:
        ops = result["operations"]
        lines.append(
            f"{result['events']:>12,} events: nightly SQL {ops['nightly_sql']['median']:.2f} s "
            f"({_ratio(ops['nightly_sql']['x_floor'])} FLOOR), end to end {ops['nightly']['median']:.2f} s "
            f"(overhead {ops['nightly_overhead']['median']:.2f} s), full rebuild "
            f"{_ratio(ops['full_rebuild']['x_floor'])} FLOOR, legacy {_ratio(ops['legacy']['x_floor'])} FLOOR, "
            f"peak RSS {result['peak_rss_mb']['pipeline']:.0f} MB"
        )
        models = (result.get("explain") or {}).get("models")
        if models:
            total = models_total(models)
            pages = (
                f", {total['pages']:,} pages touched ({total['pages_read']:,} from outside shared_buffers)"
                if any("pages" in found for found in models.values())
                else ""  # results written before pages were recorded
            )
            lines.append(
                f"{'':>20} its model SELECTs re-run: {total['seconds']:.2f} s, "
                f"{total['rows_scanned']:,} rows scanned{pages}"
            )
    return lines


def targets(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Issue #16's targets (bench/README.md): per size, and flatness from the smallest size to the largest."""
    ordered = sorted(results, key=lambda r: r["events"])
    smallest, largest = ordered[0], ordered[-1]
    checks = []
    for result in ordered:
        ops, at = result["operations"], f"at {result['events']:,}"
        if result is smallest:
            checks.append(_target(f"nightly end to end <= 1.0x LEGACY {at}", ops["nightly"]["x_legacy"], 1.0, "x"))
        if result is largest and largest is not smallest:
            checks.append(
                _target(
                    f"nightly end to end <= {LARGEST_NIGHTLY_MAX_X_LEGACY}x LEGACY {at}",
                    ops["nightly"]["x_legacy"],
                    LARGEST_NIGHTLY_MAX_X_LEGACY,
                    "x",
                )
            )
        checks.extend(
            [
                _target(
                    f"nightly orchestration overhead <= {NIGHTLY_OVERHEAD_MAX_SECONDS:.0f} s {at}",
                    ops["nightly_overhead"]["median"],
                    NIGHTLY_OVERHEAD_MAX_SECONDS,
                    "s",
                ),
                _target(f"full rebuild <= 1.0x LEGACY {at}", ops["full_rebuild"]["x_legacy"], 1.0, "x"),
                _target(
                    f"full rebuild <= {FULL_REBUILD_MAX_X_FLOOR:.0f}x FLOOR {at} (the goal behind it)",
                    ops["full_rebuild"]["x_floor"],
                    FULL_REBUILD_MAX_X_FLOOR,
                    "x",
                ),
                _target(
                    f"peak RSS of the pipeline process <= {PEAK_RSS_MAX_MB:.0f} MB {at}",
                    result["peak_rss_mb"]["pipeline"],
                    PEAK_RSS_MAX_MB,
                    "MB",
                ),
            ]
        )
    if largest is not smallest:
        span = f"from {smallest['events']:,} to {largest['events']:,}"
        history = f"history x{largest['events'] / smallest['events']:.0f}"
        growth = largest["operations"]["nightly"]["median"] / smallest["operations"]["nightly"]["median"]
        checks.append(
            _target(f"nightly end to end flat {span} (<= {FLAT_MAX_GROWTH}x; {history})", growth, FLAT_MAX_GROWTH, "x")
        )
        memory = _nightly_peak_mb(largest) / _nightly_peak_mb(smallest)
        checks.append(
            _target(f"nightly peak RSS flat {span} (<= {FLAT_MAX_GROWTH}x; {history})", memory, FLAT_MAX_GROWTH, "x")
        )
    return checks


def _nightly_peak_mb(result: dict[str, Any]) -> float:
    rss = result["peak_rss_mb"]
    return rss.get("pipeline_by_operation", {}).get("nightly", rss["pipeline"])


def _target(name: str, value: float | None, limit: float, unit: str) -> dict[str, Any]:
    met = value is not None and value <= limit
    return {"target": name, "value": value, "limit": limit, "unit": unit.strip(), "met": met}


def target_lines(checks: list[dict[str, Any]]) -> list[str]:
    lines = ["== targets =="]
    for check in checks:
        value = (
            "-"
            if check["value"] is None
            else f"{check['value']:.2f}{'x' if check['unit'] == 'x' else ' ' + check['unit']}"
        )
        lines.append(f"{'MET ' if check['met'] else 'MISS'}  {check['target']}: {value}")
    return lines


def explain_lines(result: dict[str, Any]) -> list[str]:
    explained = result.get("explain") or {}
    lines = []
    for title, plan in explained.get("log_reads", {}).items():
        lines.append(f"-- EXPLAIN (ANALYZE, BUFFERS): {title} [{result['events']:,} events]")
        lines.extend(plan)
    if explained.get("models"):
        lines.append(
            f"-- the nightly's dbt models re-run under EXPLAIN ANALYZE, biggest scans first [{result['events']:,}]"
        )
        lines.extend(model_lines(explained["models"]))
    return lines
