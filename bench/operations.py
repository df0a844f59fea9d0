"""The measured operations for one log size: FLOOR, LEGACY, FULL REBUILD, NIGHTLY (and --explain).

measure_size runs in a process of its own (bench/run.py), on a fresh database of the embedded server.
Nothing here fetches the log into Python: every operation is SQL, dbt or Dagster against Postgres.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TextIO

from dagster import DagsterInstance
from psycopg import sql

from bench import artifacts, legacy, plans
from bench.children import call_in_child
from bench.environment import create_database, database_name, drop_database
from dagster_project.db.connection import connect
from dagster_project.settings import Settings

Log = Callable[[str], None]


@dataclass(frozen=True)
class SizeConfig:
    events: int
    days: int
    day_events: int
    repeats: int
    rebuild_repeats: int
    as_of: date
    """D: the nightly's day; the history ends the day before."""
    seed: int
    server_url: str
    home: str
    explain: bool
    keep_database: bool


def measure_size(config: SizeConfig) -> dict[str, Any]:
    """Every operation for one size, on a fresh database that is dropped afterwards (unless kept)."""
    warnings.simplefilter("ignore", DeprecationWarning)  # dagster/GX chatter; the bench prints its own progress
    warnings.simplefilter("ignore", UserWarning)
    name = database_name(config.events)
    url = create_database(config.server_url, name)
    os.environ["COLISEUM_DATABASE_URL"] = url  # Dagster resources and dbt read it through the settings
    work = Path(config.home) / "dagster" / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log = _logger(f"{config.events:,}", _console())
    output = Path(config.home) / "logs" / f"{name}.log"
    _redirect_output(output)
    log(f"dbt and Dagster output: {output}")
    try:
        return _measure(config, url, work, log)
    finally:
        if not config.keep_database:
            drop_database(config.server_url, name)
        shutil.rmtree(work, ignore_errors=True)


def _measure(config: SizeConfig, url: str, work: Path, log: Log) -> dict[str, Any]:
    from dagster_project.app.runner import definitions
    from dagster_project.db.migrations import init_db
    from dagster_project.defs.dbt.project import ensure_manifest
    from dagster_project.defs.resources import build_resources

    settings = Settings.from_env()  # this process's edge (run_size set the variables)
    init_db(url, settings)
    ensure_manifest(build_resources(settings)["dbt"])
    definitions(settings)  # loaded once here, not inside the first timing
    history_end = config.as_of - timedelta(days=1)

    log(f"generating {config.events:,} events over {config.days} days ending {history_end}")
    history = call_in_child(generate_log, url, config.events, config.days, config.seed, history_end)
    vacuum_analyze(url)
    floor = measure_floor(url, settings, config.repeats, log)
    legacy_result = measure_legacy(url, settings, config.repeats, history_end, log)
    peak_rss: dict[str, float] = {"before_pipeline": _peak_rss_mb()}
    _reset_peak_rss()
    full, instance = measure_full_rebuild(url, settings, config.rebuild_repeats, history_end, history, work, log)
    peak_rss["full_rebuild"] = _peak_rss_mb()
    log(f"appending the new day {config.as_of}: {config.day_events:,} events")
    # The same network's next day: the history's artists and fans (seed and size of its population).
    day = call_in_child(
        generate_log, url, config.day_events, 1, config.seed + 1, config.as_of, (config.seed, config.events)
    )
    vacuum_analyze(url)  # a nightly normally finds a vacuumed table, not a full rebuild's dead tuples
    _reset_peak_rss()
    nightly = measure_nightly(url, settings, config.repeats, config.as_of, day["events"], instance, log)
    peak_rss["nightly"] = _peak_rss_mb()
    explained = explain_plans(url, settings, config.as_of, nightly) if config.explain else None
    instance.dispose()
    return {
        "events": config.events,
        "days": config.days,
        "day_events": config.day_events,
        "history": history,
        "new_day": day,
        "operations": {
            "floor": floor,
            "legacy": legacy_result["total"],
            "full_rebuild": full["total"],
            "nightly": nightly["end_to_end"],
            "nightly_sql": nightly["sql"],
            "nightly_overhead": nightly["overhead"],
        },
        "legacy": legacy_result,
        "full_rebuild": full,
        "nightly": nightly,
        "peak_rss_mb": {
            "pipeline": max(peak_rss.values()),
            "pipeline_by_operation": peak_rss,
            "pipeline_ru_maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "generator": max(history["peak_rss_mb"], day["peak_rss_mb"]),
        },
        "database": database_sizes(url, settings),
        "explain": explained,
        "problems": sorted({p for run in full["runs"] + nightly["runs"] for p in run["problems"]}),
    }


def _console() -> TextIO:
    """The terminal's stderr, kept for progress lines before the output is redirected."""
    return os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1)


def _redirect_output(path: Path) -> None:
    """dbt's console log (streamed by dagster-dbt) and library warnings go to a file; the parent prints tables."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, sys.stdout.fileno())
    os.dup2(fd, sys.stderr.fileno())
    os.close(fd)


def _logger(label: str, console: TextIO) -> Log:
    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')} {label}] {message}", file=console, flush=True)

    return log


def _peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM). Not ru_maxrss alone: on Linux a spawned child's ru_maxrss starts
    at its parent's peak (kept across exec), which would charge the parent's memory to the child."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _reset_peak_rss() -> None:
    """Restart VmHWM at the current RSS (Linux clear_refs), so each operation's own peak is measured."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def timings(seconds: list[float]) -> dict[str, Any]:
    ordered = sorted(seconds)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return {"seconds": seconds, "median": median, "min": ordered[0], "max": ordered[-1]}


def generate_log(
    url: str, events: int, days: int, seed: int, end_date: date, population: tuple[int, int] | None = None
) -> dict[str, Any]:
    """Runs in a child process: the generator holds its rows in Python, the pipeline never does."""
    from dagster_project.devtools.generate import generate

    with connect(url) as conn:
        result = generate(
            conn, Settings.from_env(), events=events, days=days, seed=seed, end_date=end_date, population=population
        )
    return {
        "events": result.events,
        "artists": result.artists,
        "artists_without_profile": result.artists_without_profile,
        "users": result.users,
        "first_day": result.first_day.isoformat(),
        "last_day": result.last_day.isoformat(),
        "peak_rss_mb": _peak_rss_mb(),
    }


def vacuum_analyze(url: str) -> None:
    """Visibility map, hint bits and statistics settled before timing, as autovacuum would leave them."""
    with connect(url, autocommit=True) as conn:
        conn.execute("vacuum analyze")


# FLOOR ---------------------------------------------------------------------------------------------------------


def measure_floor(url: str, settings: Settings, repeats: int, log: Log) -> dict[str, Any]:
    """One aggregate scan of the log grouped by entity_id: what reading the log once costs."""
    # Counted in SQL so no group is shipped to Python; Postgres still groups every row.
    query = sql.SQL(
        "select count(*) from (select entity_id, count(*) from {}.passport_entries group by entity_id) as groups"
    ).format(sql.Identifier(settings.source_schema))
    seconds = []
    with connect(url, autocommit=True) as conn:
        conn.execute(query)  # warm-up: the same cache state for every repeat
        for _ in range(repeats):
            started = time.perf_counter()
            conn.execute(query).fetchone()
            seconds.append(time.perf_counter() - started)
    log(f"floor: {min(seconds):.2f}..{max(seconds):.2f} s")
    return timings(seconds)


# LEGACY --------------------------------------------------------------------------------------------------------


def measure_legacy(url: str, settings: Settings, repeats: int, as_of: date, log: Log) -> dict[str, Any]:
    """The original design (bench/legacy.sql): refill the mutations table, refresh the twelve views."""
    totals, refills, refreshes = [], [], []
    with connect(url) as conn:
        legacy.setup(conn, settings, as_of)
        for index in range(repeats):
            refill = legacy.refill(conn, settings)
            views = legacy.refresh(conn)
            refills.append(refill)
            refreshes.append(sum(views.values()))
            totals.append(refill + refreshes[-1])
            log(f"legacy {index + 1}/{repeats}: {totals[-1]:.2f} s (refill {refill:.2f} s)")
        rows = conn.execute("select count(*) from legacy.coliseum_dna_mutations").fetchone()[0]
    return {
        "total": timings(totals),
        "refill": timings(refills),
        "refresh_12_views": timings(refreshes),
        "mutation_rows": rows,
    }


# FULL REBUILD --------------------------------------------------------------------------------------------------


def reset_pipeline(url: str, settings: Settings) -> None:
    """An empty pipeline state: no build schema (the published views depending on it go too), nothing processed."""
    source, build = sql.Identifier(settings.source_schema), sql.Identifier(settings.build_schema)
    with connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(build))
        conn.execute(
            sql.SQL(
                "update {}.passport_entries set coliseum_processed_at = null where coliseum_processed_at is not null"
            ).format(source)
        )
        conn.execute(sql.SQL("vacuum analyze {}.passport_entries").format(source))


def measure_full_rebuild(
    url: str, settings: Settings, repeats: int, as_of: date, history: dict[str, Any], work: Path, log: Log
) -> tuple[dict[str, Any], DagsterInstance]:
    """run_pipeline from an empty state (fresh Dagster instance each time); returns the last instance."""
    from dagster_project.app.runner import instance_at, run_pipeline

    history_events = history["events"]
    history_days = (date.fromisoformat(history["last_day"]) - date.fromisoformat(history["first_day"])).days + 1
    totals, sqls, runs = [], [], []
    instance: DagsterInstance | None = None
    for index in range(repeats):
        if instance is not None:
            instance.dispose()
        reset_pipeline(url, settings)
        instance = instance_at(Path(tempfile.mkdtemp(prefix="full-", dir=work)))  # as the CLI's (dagster.yaml)
        started_wall, started = time.time(), time.perf_counter()
        summary = run_pipeline(settings, [as_of], instance, log=lambda _line: None)
        totals.append(time.perf_counter() - started)
        dbt = artifacts.dbt_timing(settings, summary.run_ids, started_wall)
        sqls.append(dbt["seconds"])
        runs.append(
            {
                **_run_record(summary, dbt, expected_entries=history_events, expected_days=history_days),
                "steps": dict(sorted(artifacts.step_seconds(instance, summary.run_ids).items(), key=lambda i: -i[1])),
                "dagster_events": artifacts.event_count(instance, summary.run_ids),
            }
        )
        log(f"full rebuild {index + 1}/{repeats}: {totals[-1]:.1f} s (dbt SQL {dbt['seconds']:.1f} s)")
    assert instance is not None
    return {"total": timings(totals), "sql": timings(sqls), "runs": runs}, instance


def _run_record(summary: Any, dbt: dict[str, Any], expected_entries: int, expected_days: int) -> dict[str, Any]:
    """What the run did, and whether it did the work it was timed for (else the timing means little)."""
    problems = []
    if len(summary.days) != expected_days:
        problems.append(f"processed {len(summary.days)} day(s), expected {expected_days}")
    if summary.entries_read != expected_entries:
        problems.append(f"read {summary.entries_read} entries, expected {expected_entries}")
    if dbt["missing_run_results"] or not dbt["invocations"]:
        problems.append(f"dbt run_results missing: {dbt['missing_run_results'] or 'no invocation found'}")
    return {
        "problems": problems,
        "days": len(summary.days),
        "entries_read": summary.entries_read,
        "mutations_written": summary.mutations_written,
        "artists_ranked": summary.artists_ranked,
        "publication_id": summary.publication_id,
        "dbt_by_kind": dbt["by_kind"],
        "dbt_invocations": dbt["invocations"],
        "missing_run_results": dbt["missing_run_results"],
    }


# NIGHTLY -------------------------------------------------------------------------------------------------------


def mark_day_unprocessed(url: str, settings: Settings, day: date) -> None:
    """Each repeat is a true first nightly for D: its entries are pending again (served by the created_at index)."""
    with connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "update {}.passport_entries set coliseum_processed_at = null "
                "where created_at >= %(day)s::date::timestamp at time zone 'UTC' "
                "and created_at < (%(day)s::date + 1)::timestamp at time zone 'UTC'"
            ).format(sql.Identifier(settings.source_schema)),
            {"day": day},
        )


def measure_nightly(
    url: str, settings: Settings, repeats: int, day: date, day_events: int, instance: DagsterInstance, log: Log
) -> dict[str, Any]:
    """run_pipeline for D on top of the rebuilt history: end to end, dbt SQL, and the rest (orchestration)."""
    from dagster_project.app.runner import run_pipeline

    totals, sqls, overheads, in_runs, parses, steps, nodes, runs = [], [], [], [], [], [], [], []
    for index in range(repeats):
        mark_day_unprocessed(url, settings, day)
        started_wall, started = time.time(), time.perf_counter()
        summary = run_pipeline(settings, [day], instance, log=lambda _line: None)
        totals.append(time.perf_counter() - started)
        dbt = artifacts.dbt_timing(settings, summary.run_ids, started_wall)
        sqls.append(dbt["seconds"])
        overheads.append(totals[-1] - dbt["seconds"])
        in_runs.append(artifacts.run_seconds(instance, summary.run_ids))
        parses.append(sum(invocation["parse"] or 0.0 for invocation in dbt["invocations"]))
        steps.append(artifacts.step_seconds(instance, summary.run_ids))
        nodes.append(dbt["nodes"])
        runs.append(
            {
                **_run_record(summary, dbt, expected_entries=day_events, expected_days=1),
                "dagster_events": artifacts.event_count(instance, summary.run_ids),
            }
        )
        log(f"nightly {index + 1}/{repeats}: {totals[-1]:.1f} s end to end, dbt SQL {dbt['seconds']:.1f} s")
    return {
        "end_to_end": timings(totals),
        "sql": timings(sqls),
        "overhead": timings(overheads),
        "inside_dagster_runs": timings(in_runs),
        "dbt_parse": timings(parses),
        "dbt_invocations": len(runs[-1]["dbt_invocations"]),
        "steps": _medians(steps),
        "dbt_nodes": _medians(nodes),
        "runs": runs,
    }


def _medians(samples: list[dict[str, float]]) -> dict[str, float]:
    """Per key, the median over the repeats, largest first."""
    keys = {key for sample in samples for key in sample}
    medians = {key: timings([sample.get(key, 0.0) for sample in samples])["median"] for key in keys}
    return dict(sorted(medians.items(), key=lambda item: -item[1]))


# EXPLAIN -------------------------------------------------------------------------------------------------------


def explain_plans(url: str, settings: Settings, day: date, nightly: dict[str, Any]) -> dict[str, Any]:
    """The log reads in full, and every model the last nightly ran, re-run under EXPLAIN ANALYZE."""
    last = nightly["runs"][-1]["dbt_invocations"]
    models = plans.compiled_models([settings.dbt_target_dir / invocation["dir"] for invocation in last])
    return {"log_reads": plans.log_reads(url, settings, day), "models": plans.model_scans(url, models)}


def database_sizes(url: str, settings: Settings) -> dict[str, float]:
    with connect(url) as conn:
        database = conn.execute("select pg_database_size(current_database())").fetchone()[0]
        log_table = conn.execute(
            "select pg_total_relation_size(%s::regclass)", (f"{settings.source_schema}.passport_entries",)
        ).fetchone()[0]
    return {"database_mb": database / 2**20, "passport_entries_mb": log_table / 2**20}
