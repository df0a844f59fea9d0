"""The `coliseum` command: init-db, generate, run, late-days, ui."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta

from psycopg import sql

from dagster_project.db.connection import connect, database_url, dbt_env, run
from dagster_project.settings import BIN_DIR, PROJECT_ROOT, Settings, child_environment

DEMO_EVENTS, DEMO_DAYS, DEMO_SEED = 200_000, 45, 42


def _yesterday() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a YYYY-MM-DD date") from exc


def cmd_init_db(args: argparse.Namespace, settings: Settings) -> int:
    from dagster_project.db.migrations import init_db

    init_db(database_url(settings), settings)
    print(f"sources ready in schema {settings.source_schema}; build schema {settings.build_schema} migrated")
    return 0


def cmd_generate(args: argparse.Namespace, settings: Settings) -> int:
    from dagster_project.db.migrations import init_db
    from dagster_project.devtools.generate import generate, generate_bad_rows

    url = database_url(settings)
    init_db(url, settings)
    with connect(url) as conn:
        end_date = args.end_date or _yesterday()
        result = generate(conn, settings, args.events, args.days, args.seed, end_date)
        bad = generate_bad_rows(conn, settings, args.bad_rows, args.seed, end_date, args.days) if args.bad_rows else {}
    print(
        f"loaded {result.events} entries over {result.first_day}..{result.last_day}: "
        f"{result.artists} artists "
        f"({result.artists_without_profile} without profile), {result.users} users"
    )
    for outcome, count in sorted(bad.items()):
        print(f"  bad rows: {count:>5}  {outcome}")
    return 0


def _log_is_empty(url: str, settings: Settings) -> bool:
    with connect(url) as conn:
        query = sql.SQL("select not exists (select 1 from {}.passport_entries)")
        return conn.execute(query.format(sql.Identifier(settings.source_schema))).fetchone()[0]


def _print_boards(url: str, settings: Settings, top: int) -> None:
    from dagster_project.contract import BOARDS, board_name

    with connect(url) as conn:
        for domain, window in BOARDS:
            name = board_name(domain, window)
            rows = conn.execute(
                sql.SQL("select rank, artist_name, score, event_count, unique_fans from {}.{} limit %s").format(
                    sql.Identifier(settings.publish_schema), sql.Identifier(name)
                ),
                (top,),
            ).fetchall()
            print(f"\n{name}")
            for rank, artist, score, events, fans in rows:
                print(f"  {rank:>3}  {artist:<34} {score:>12}  events {events:>7}  fans {fans:>6}")


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from dagster_project.app.runner import PipelineRunError, dagster_instance, run_pipeline
    from dagster_project.db.migrations import init_db
    from dagster_project.devtools.generate import generate

    url = database_url(settings)
    init_db(url, settings)
    end = args.to or args.date or _yesterday()
    start = args.date or end
    if start > end:
        print("--date must not be after --to", file=sys.stderr)
        return 2
    if _log_is_empty(url, settings):
        with connect(url) as conn:
            demo = generate(conn, settings, DEMO_EVENTS, DEMO_DAYS, DEMO_SEED, end)
        print(f"empty log: loaded a demo dataset of {demo.events} entries ({demo.first_day}..{demo.last_day})")
    _ensure_manifest(settings)
    dates = [date.fromordinal(o) for o in range(start.toordinal(), end.toordinal() + 1)]
    print(f"running the nightly plan for {dates[0]}..{dates[-1]}")
    instance = dagster_instance(settings)
    try:
        summary = run_pipeline(settings, dates, instance, publish_older=args.publish_older)
    except PipelineRunError as exc:
        print(str(exc), file=sys.stderr)
        _send_alerts(url, settings, instance, exc.run_ids)
        return 1
    _print_boards(url, settings, args.top)
    _print_quarantine(url, settings, summary.days)
    print("\n" + summary.line())
    _send_alerts(url, settings, instance, summary.run_ids)
    return 0


def _ensure_manifest(settings: Settings) -> None:
    from dagster_project.defs.dbt.project import ensure_manifest
    from dagster_project.defs.resources import build_resources

    ensure_manifest(build_resources(settings)["dbt"])


def _send_alerts(url: str, settings: Settings, instance, run_ids: list[str]) -> None:
    """The CLI acts as one tick of the alert and freshness sensors (deduplicated with them)."""
    from dagster_project.defs.alerts.alerts import dispatch, freshness_alerts, run_alerts

    try:
        with connect(url) as conn:
            sent = dispatch(conn, settings, run_alerts(instance, run_ids) + freshness_alerts(conn, settings))
    except Exception as error:  # alerting must never turn a result into a crash
        print(f"WARNING: could not send alerts: {error}", file=sys.stderr)
        return
    for alert in sent:
        print(f"ALERT {alert.message}", file=sys.stderr)
    if sent:
        print(f"{len(sent)} alert(s) written to {settings.alert_log}", file=sys.stderr)


def _print_quarantine(url: str, settings: Settings, days: list[date]) -> None:
    with connect(url) as conn:
        rows = run(
            conn,
            settings,
            "select rejection_reason, count(*) from {build}.coliseum_quarantine "
            "where activity_date = any(%s) group by 1 order by 2 desc, 1",
            (days,),
        ).fetchall()
    print(f"\nquarantined: {sum(n for _r, n in rows)}")
    for reason, count in rows:
        print(f"  {count:>6}  {reason}")


def cmd_late_days(args: argparse.Namespace, settings: Settings) -> int:
    from dagster_project.defs.nightly.pending import late_days

    with connect(database_url(settings)) as conn:
        days = late_days(conn, settings)
    for day in days:
        print(day.isoformat())
    if not days:
        print("no late days", file=sys.stderr)
    return 0


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from dagster_project.app.verify import verify

    url = database_url(settings)
    with connect(url) as conn:
        report = verify(conn, settings)
    recomputed = None
    if args.recompute:
        from dagster_project.defs.quality.recompute import recompute

        recomputed = recompute(url, settings)
    ok = report.ok and (recomputed is None or recomputed.ok)
    if args.json:
        out = report.as_dict()
        if recomputed is not None:
            out["recompute"] = {"ok": recomputed.ok, "as_of_date": recomputed.as_of_date,
                                "relations": [asdict(r) for r in recomputed.relations]}  # fmt: skip
        out["ok"] = ok
        print(json.dumps(out, indent=2, default=str))
        return 0 if ok else 1
    for finding in report.findings:
        print(f"{finding.status:<14} {finding.object:<45} {finding.detail}")
    print("OK: the database matches the contract" if report.ok else "DRIFT: see the lines above")
    if recomputed is not None:
        print(f"\nrecompute: publication {recomputed.publication_id} as of {recomputed.as_of_date} "
              "against a full rebuild of the log in a scratch schema")  # fmt: skip
        print("\n".join(recomputed.lines()))
        print("OK: every published relation equals a full rebuild" if recomputed.ok else "DIFFERS: see above")
    return 0 if ok else 1


def cmd_ui(args: argparse.Namespace, settings: Settings) -> int:
    from dagster_project.db.migrations import migrate

    url = database_url(settings)
    with connect(url) as conn:
        migrate(conn, settings)
    _ensure_manifest(settings)
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    # `dagster dev` loads the code location, which reads these settings again (its own edge).
    env = child_environment({**settings.as_env(), **dbt_env(url, settings), "COLISEUM_DATABASE_URL": url})
    command = [
        str(BIN_DIR / "dagster"),
        "dev",
        "-w",
        str(PROJECT_ROOT / "workspace.yaml"),
        "-h",
        args.host,
        "-p",
        str(args.port),
    ]
    os.execvpe(command[0], command, env)
    return 0  # not reached


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coliseum", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("init-db", help="create the source tables and indexes (idempotent, additive)").set_defaults(
        func=cmd_init_db
    )

    gen = sub.add_parser("generate", help="bulk-load a deterministic synthetic passport log")
    gen.add_argument("--events", type=int, default=100_000)
    gen.add_argument("--days", type=int, default=30)
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--end-date", type=_date, help="last UTC day of the data (default: yesterday)")
    gen.add_argument("--bad-rows", type=int, default=0, help="also append about N malformed rows (the catalogue)")
    gen.set_defaults(func=cmd_generate)

    run = sub.add_parser("run", help="run the nightly job: daily partitions, windows, publish")
    run.add_argument("--date", type=_date, help="as-of date to (re)compute (default: yesterday, UTC)")
    run.add_argument("--to", type=_date, help="with --date: backfill every as-of date through this one")
    run.add_argument(
        "--publish-older",
        action="store_true",
        help="publish --date/--to even when it is older than the live publication (by default an older date is "
        "rebuilt and the live as-of date republished)",
    )
    run.add_argument("--top", type=int, default=5, help="rows of each board to print")
    run.set_defaults(func=cmd_run)

    sub.add_parser("late-days", help="list processed days that received entries afterwards").set_defaults(
        func=cmd_late_days
    )

    check = sub.add_parser("verify", help="check any database against the contract; exit 1 on drift")
    check.add_argument("--json", action="store_true", help="machine-readable report")
    check.add_argument(
        "--recompute",
        action="store_true",
        help="also rebuild the live as-of date from the log in a scratch schema and diff every published relation",
    )
    check.set_defaults(func=cmd_verify)

    ui = sub.add_parser("ui", help="start the Dagster UI on the same database and DAGSTER_HOME")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=cmd_ui)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args, Settings.from_env())


if __name__ == "__main__":
    sys.exit(main())
