"""The `coliseum` command: set up the database, load a demo log, run the nightly job, check and inspect it.

Every bad input or failed connection is one line on stderr and a non-zero exit (2: bad input, 1: a failure);
`--debug` shows the traceback. dbt's per-node lines, Dagster's logs and library warnings are shown with
`--verbose` only (the full event log of every run stays in DAGSTER_HOME, where `coliseum ui` shows it)."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

import psycopg
from psycopg import sql

from dagster_project.db.connection import connect, database_url, dbt_env, embedded_status, run, stop_embedded
from dagster_project.settings import (
    BIN_DIR,
    PROJECT_ROOT,
    Settings,
    SettingsError,
    child_environment,
    environment,
    write_home_settings,
)

if TYPE_CHECKING:
    from dagster_dbt import DbtCliInvocation

DEMO_EVENTS, DEMO_DAYS, DEMO_SEED, DEMO_BAD_ROWS = 200_000, 45, 42, 12
HEARTBEAT_SECONDS = 5.0


class CliError(Exception):
    """A bad input or state, reported as one line (exit 2)."""


def _yesterday() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a YYYY-MM-DD date") from exc


def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below the minimum of {minimum}")
        return value

    return parse


class Progress:
    """Progress lines with the elapsed time; while a step is silent, a line every HEARTBEAT_SECONDS."""

    def __init__(self, out: TextIO) -> None:
        self.out, self.started, self.last, self.current = out, time.monotonic(), time.monotonic(), ""
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        with self._lock:
            self.current = line.strip().rstrip(".")
            self._write(line)

    def _write(self, line: str) -> None:
        self.last = time.monotonic()
        print(f"[{self.last - self.started:6.1f} s] {line}", file=self.out, flush=True)

    def _beat(self) -> None:
        while not self._stop.wait(0.5):
            with self._lock:
                if time.monotonic() - self.last >= HEARTBEAT_SECONDS and self.current:
                    self._write(f"  ... {self.current}")

    @contextlib.contextmanager
    def running(self) -> Iterator[Progress]:
        beat = threading.Thread(target=self._beat, daemon=True)
        beat.start()
        try:
            yield self
        finally:
            self._stop.set()
            beat.join()


@contextlib.contextmanager
def _output(verbose: bool) -> Iterator[TextIO]:
    """Yields the terminal's stdout. Unless verbose, what libraries print (dbt's per-node lines that
    dagster-dbt re-emits) goes nowhere; verbose and not on a terminal, dbt prints no colour codes."""
    out = sys.stdout
    if verbose:
        colour = {} if out.isatty() else {"DBT_USE_COLORS": "false", "NO_COLOR": "1"}
        with environment(colour):
            yield out
        return
    with contextlib.redirect_stdout(io.StringIO()):
        yield out


DOTENV_MARKER = "# written by `coliseum`: plain `dagster dev` from this folder uses the same instance"


def share_dagster_home(settings: Settings, root: Path = PROJECT_ROOT) -> Path | None:
    """Make plain `dagster dev` (run from `root`) use the CLI's DAGSTER_HOME: Dagster reads `root/.env` before
    choosing its instance, and falls back to a temporary one without it. Only for the checkout's own home
    (COLISEUM_HOME unset): other homes pass their variables themselves. A .env that coliseum did not write
    is left alone. Returns the file written, if any."""
    dotenv = root / ".env"
    if settings.home != (root / ".coliseum").resolve():
        return None
    if dotenv.exists() and DOTENV_MARKER not in dotenv.read_text():
        return None
    dotenv.write_text(f"{DOTENV_MARKER}\nDAGSTER_HOME={settings.dagster_home}\n")
    return dotenv


def cmd_init_db(args: argparse.Namespace, settings: Settings) -> int:
    from dagster_project.db.migrations import init_db

    init_db(database_url(settings), settings)
    share_dagster_home(settings)
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
                sql.SQL(
                    "select rank, artist_name, score, event_count, unique_fans, rank_change from {}.{} limit %s"
                ).format(sql.Identifier(settings.publish_schema), sql.Identifier(name)),
                (top,),
            ).fetchall()
            print(f"\n{name}")
            for rank, artist, score, events, fans, change in rows:
                # rank_change: places gained since the previous as-of date (new: not ranked then).
                moved = "new" if change is None else ("=" if change == 0 else f"{change:+d}")
                print(f"  {rank:>3} {moved:>4}  {artist:<34} {score:>12}  events {events:>7}  fans {fans:>6}")
        revenue = conn.execute(
            sql.SQL(
                "select currency, count(distinct artist_id), sum(gross_cents), sum(refunds_cents), sum(net_cents) "
                "from {}.artist_revenue_summary where \"window\" = 'alltime' group by 1 order by 5 desc"
            ).format(sql.Identifier(settings.publish_schema))
        ).fetchall()
    print("\nrevenue, all time (per currency: never converted)")
    for currency, artists, gross, refunds, net in revenue:
        print(
            f"  {currency}  artists {artists:>5}  gross {gross / 100:>12,.2f}  refunds {refunds / 100:>10,.2f}  "
            f"net {net / 100:>12,.2f}"
        )
    _print_fan_side(url, settings)


def _print_fan_side(url: str, settings: Settings) -> None:
    """The fan side: each view's rows, and the most active user's DNA and matrix row."""
    from dagster_project.contract import FAN_NAMES

    target = sql.Identifier(settings.publish_schema)
    with connect(url) as conn:
        counts = [
            (
                name,
                conn.execute(sql.SQL("select count(*) from {}.{}").format(target, sql.Identifier(name))).fetchone()[0],
            )
            for name in FAN_NAMES
        ]
        top = conn.execute(
            sql.SQL(
                "select m.user_id, m.listening_count, m.engagement_count, m.sessions, m.net_spend_cents, "
                "d.dna_a, d.dna_t, d.dna_g, d.dna_c, d.events_counted, "
                "(select count(*) from {t}.coliseum_user_dna_history h where h.user_id = m.user_id) "
                "from {t}.dia_user_matrix m join {t}.coliseum_user_dna d using (user_id) "
                "order by d.events_counted desc, m.user_id limit 1"
            ).format(t=target)
        ).fetchone()
    print("\nfan side (user DNA and the DIA marts)")
    print("  " + ", ".join(f"{name} {n}" for name, n in counts))
    if top:
        user, plays, engagement, sessions, spend, a, t, g, c, events, days = top
        print(
            f"  most active user {str(user)[:8]}: DNA A {a} T {t} G {g} C {c} ({events} events over {days} active "
            f"days), {plays} plays, {engagement} engagements, {sessions} sessions, net spend {spend}"
        )


def run_dates(args: argparse.Namespace, settings: Settings, yesterday: date) -> list[date]:
    """The as-of dates of `coliseum run`: --date alone, --date..--to, or yesterday. Each must be a daily
    partition: from COLISEUM_PARTITIONS_START through yesterday (a day is built once it is over)."""
    if args.to and not args.date:
        raise CliError("--to needs --date: the backfill runs every as-of date from --date through --to")
    first = args.date or yesterday
    last = args.to or first
    if first > last:
        raise CliError(f"--date {first} is after --to {last}")
    for option, value in (("--date", first), ("--to", last)):
        if not settings.partitions_start <= value <= yesterday:
            raise CliError(
                f"{option} {value} is outside the partitions: pick a day from {settings.partitions_start} "
                f"(COLISEUM_PARTITIONS_START) through {yesterday} (yesterday, UTC)"
            )
    return [date.fromordinal(o) for o in range(first.toordinal(), last.toordinal() + 1)]


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from dagster_project.app.runner import PipelineRunError, dagster_instance, run_pipeline
    from dagster_project.db.migrations import init_db
    from dagster_project.devtools.generate import generate, generate_bad_rows

    dates = run_dates(args, settings, _yesterday())
    with _output(args.verbose) as out, Progress(out).running() as progress:
        progress("connecting to the database")
        url = database_url(settings)
        init_db(url, settings)
        # dbt parses in its own process while the demo loads (its profile does not depend on the demo).
        parsing = _start_manifest(settings)
        if _log_is_empty(url, settings):
            progress(f"empty log: loading a demo dataset ({DEMO_EVENTS} entries over {DEMO_DAYS} days)")
            with connect(url) as conn:
                demo = generate(conn, settings, DEMO_EVENTS, DEMO_DAYS, DEMO_SEED, dates[-1], no_profile_share=0)
                # A few malformed entries, so the report shows the quarantine and its reasons.
                generate_bad_rows(conn, settings, DEMO_BAD_ROWS, DEMO_SEED, dates[-1], DEMO_DAYS)
            # The demo's partitions start where its data starts (not thousands of empty days in the UI); the
            # environment still wins, and production keeps the configured start.
            start = {"COLISEUM_PARTITIONS_START": demo.first_day.isoformat()}
            write_home_settings(settings.home, start, "the demo's partitions start where its data starts")
            settings = Settings.from_env()  # the edge again: the CLI's own settings, now with the home's
            progress(f"loaded {demo.events} entries ({demo.first_day}..{demo.last_day})")
        if parsing is not None:
            progress("preparing the dbt manifest")
            parsing.wait()
        progress(f"running the nightly plan for {dates[0]}..{dates[-1]}")
        share_dagster_home(settings)
        instance = dagster_instance(settings)
        try:
            summary = run_pipeline(settings, dates, instance, log=progress, publish_older=args.publish_older)
        except PipelineRunError as exc:
            print(str(exc), file=sys.stderr)
            _send_alerts(url, settings, instance, exc.run_ids)
            return 1
        progress("done")
    _print_boards(url, settings, args.top)
    _print_quarantine(url, settings, summary.days)
    print("\n" + summary.line())
    _send_alerts(url, settings, instance, summary.run_ids)
    return 0


def _start_manifest(settings: Settings) -> DbtCliInvocation | None:
    from dagster_project.defs.dbt.project import start_manifest
    from dagster_project.defs.resources import build_resources

    return start_manifest(build_resources(settings)["dbt"])


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
    from dagster_project.app.runner import dagster_instance
    from dagster_project.db.migrations import migrate

    url = database_url(settings)
    with connect(url) as conn:
        migrate(conn, settings)
    _ensure_manifest(settings)
    dagster_instance(settings).dispose()  # DAGSTER_HOME and its dagster.yaml exist before `dagster dev` reads them
    share_dagster_home(settings)
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
    docs = _serve_data_docs(settings)
    # `dagster dev` takes DAGSTER_HOME from a .env in its working directory over the environment, and a
    # checkout's .env names the checkout's own home: started in this home's DAGSTER_HOME, it shows this home.
    # A shell's background job (`coliseum ui &` in a script, a CI runner) starts with SIGINT ignored, and an
    # exec keeps an ignored signal: `dagster dev` maps SIGTERM to SIGINT's disposition, so it would ignore the
    # SIGTERM passed on below and never shut down. A handled signal resets to the default across the exec.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    child = subprocess.Popen(command, env=env, cwd=settings.dagster_home)
    # SIGTERM (a service manager, a test) would end this process alone and leave `dagster dev`, its webserver,
    # daemon and code servers running: pass it on, and wait for them to shut down.
    signal.signal(signal.SIGTERM, lambda signum, _frame: child.send_signal(signum))
    try:
        return child.wait()
    except KeyboardInterrupt:  # Ctrl-C reaches dagster dev too; let it shut its processes down
        return child.wait()
    finally:
        if docs is not None:
            docs.shutdown()


def _serve_data_docs(settings: Settings):
    """Serve $COLISEUM_HOME/data_docs where the checks' Data Docs links point (COLISEUM_DATA_DOCS_URL), in a
    thread beside `dagster dev`; a taken port is one line, and the UI starts anyway."""
    from dagster_project.defs.quality.gx import data_docs_server

    try:
        server = data_docs_server(settings)
    except OSError as error:
        print(f"Data Docs not served: {settings.data_docs_url}: {error.strerror or error}", file=sys.stderr)
        return None
    threading.Thread(target=server.serve_forever, name="data-docs", daemon=True).start()
    print(f"Data Docs: {settings.data_docs_url}/index.html (the checks link to their pages there)")
    return server


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    if settings.database_url:
        print(f"{args.action}: not the embedded database: COLISEUM_DATABASE_URL names a server of its own")
        return 0
    if args.action == "stop":
        stopped = stop_embedded(settings.pgdata)
        print(f"embedded Postgres on {settings.pgdata}: {'stopped' if stopped else 'was not running'}")
        return 0
    status = embedded_status(settings.pgdata)
    if status.pid is None:
        print(f"embedded Postgres on {settings.pgdata}: not running (the next command starts it)")
    else:
        print(f"embedded Postgres on {settings.pgdata}: running, pid {status.pid}, {status.url}")
    return 0


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows each option's default, unless it has none or the help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "default" not in text:
            text += " (default: %(default)s)"
        return text


class Parser(argparse.ArgumentParser):
    """argparse, with an error as one line (its usage goes to --help)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> Parser:
    parser = Parser(prog="coliseum", description=__doc__)
    common = Parser(add_help=False)
    common.add_argument("--verbose", action="store_true", help="also show dbt's, Dagster's and libraries' output")
    common.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)

    def command(name: str, text: str, func) -> Parser:
        p = sub.add_parser(name, help=text, description=text, parents=[common])
        p.set_defaults(func=func)
        return p

    command("init-db", "create the source tables, indexes and the pipeline's schema (idempotent)", cmd_init_db)

    gen = command("generate", "bulk-load a deterministic synthetic passport log (a demo or a benchmark)", cmd_generate)
    gen.add_argument("--events", type=_count(1), default=100_000, help="entries to load")
    gen.add_argument("--days", type=_count(1), default=30, help="UTC days they spread over")
    gen.add_argument("--seed", type=int, default=1, help="random seed: the same seed loads the same log")
    gen.add_argument("--end-date", type=_date, help="last UTC day of the data (default: yesterday)")
    gen.add_argument("--bad-rows", type=_count(0), default=0, help="also append about N malformed rows")

    run_ = command("run", "run the nightly job (days, windows, audit, publish) and print the boards", cmd_run)
    run_.add_argument("--date", type=_date, help="as-of date to (re)compute (default: yesterday, UTC)")
    run_.add_argument("--to", type=_date, help="with --date: backfill every as-of date through this one")
    run_.add_argument(
        "--publish-older",
        action="store_true",
        help="publish --date/--to even when it is older than the live publication (by default an older date is "
        "rebuilt and the live as-of date republished)",
    )
    run_.add_argument("--top", type=_count(0), default=5, help="rows of each board to print")

    command("late-days", "list processed days that received entries afterwards (the next run rebuilds them)",
            cmd_late_days)  # fmt: skip

    check = command("verify", "check any database against the contract, read-only; exit 1 on drift", cmd_verify)
    check.add_argument("--json", action="store_true", help="machine-readable report")
    check.add_argument(
        "--recompute",
        action="store_true",
        help="also rebuild the live as-of date from the log in a scratch schema and diff every published relation",
    )

    ui = command("ui", "start the Dagster UI on the same database and DAGSTER_HOME", cmd_ui)
    ui.add_argument("--host", default="127.0.0.1", help="address to listen on")
    ui.add_argument("--port", type=int, default=3000, help="port to listen on")

    db = command("db", "the embedded Postgres: it keeps running after each command until `db stop`", cmd_db)
    db.add_argument("action", choices=("status", "stop"), help="status: is it running, and where; stop: stop it")
    return parser


def describe(error: BaseException) -> tuple[str, int]:
    """One line for an error, and the exit code (2: the input or configuration, 1: a failure)."""
    first = (str(error).strip().splitlines() or [type(error).__name__])[0]
    if isinstance(error, CliError | SettingsError):
        return first, 2
    if isinstance(error, psycopg.OperationalError):
        return f"cannot reach the database: {first}", 1
    if isinstance(error, psycopg.Error):
        return f"database error: {first}", 1
    return f"{type(error).__name__}: {first} (--debug shows the traceback)", 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.verbose:
        warnings.simplefilter("ignore")  # Dagster's beta and backfill-policy notes, platformdirs, GX
    try:
        return args.func(args, Settings.from_env())
    except KeyboardInterrupt:
        print("coliseum: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if args.debug:
            raise
        line, code = describe(error)
        print(f"coliseum {args.command}: error: {line}", file=sys.stderr)
        return code


def entrypoint() -> NoReturn:
    """The `coliseum` command: main(), then the exit of a finished interpreter without its teardown. Freeing
    every module Dagster, dbt and GX imported took 1.5-2.2 s after the last line of a `coliseum run` (measured:
    `import great_expectations` alone adds 1.5 s to an empty script's exit), and it does nothing this process
    needs: what interpreter shutdown does first (join the other threads, the atexit handlers, flush) is done
    here; Postgres and SQLite hold every commit already."""
    code = main()
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entrypoint()
