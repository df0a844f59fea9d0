"""The real `coliseum` command: its summary matches the database, its output reads like a report, the UI it
opens works in a real (headless Chromium) browser, and every bad input is one line naming the problem with a
non-zero exit."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import RunsFilter

from dagster_project.app.runner import dagster_instance
from dagster_project.contract import BOARD_NAMES, FAN_NAMES
from dagster_project.settings import Settings
from tests.support.database import settings_for
from tests.support.helpers import COLISEUM, cli_env, run_cli

# What dbt prints per node, and a terminal colour code: neither belongs in a report piped to a file.
DBT_NODE_LINE = re.compile(r"\d+ of \d+ (START|OK|PASS)")
ANSI = "\x1b["


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def coliseum(settings, *args: str) -> str:
    done = run_cli(settings, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def main_job(database, tmp_path_factory):
    """The main job through the real command on its own home and DAGSTER_HOME, with Data Docs rendered for
    the UI test below: (settings, completed process)."""
    docs_port = free_port()
    settings = settings_for(
        database.url,
        tmp_path_factory.mktemp("cli_home"),
        COLISEUM_DATA_DOCS="1",
        COLISEUM_DATA_DOCS_URL=f"http://127.0.0.1:{docs_port}",
    )
    coliseum(settings, "init-db")
    coliseum(settings, "generate", "--events", "3000", "--days", "10", "--seed", "3")
    return settings, run_cli(settings, "run")


def test_main_job_summary_matches_database(database, main_job):
    settings, done = main_job
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    match = re.search(
        r"as of (\S+): (\d+) entries read over (\d+) day\(s\), (\d+) mutations written, (\d+) artists ranked",
        out,
    )
    assert match, out
    as_of, read, days, written, ranked = match.groups()
    for name in BOARD_NAMES:
        assert f"\n{name}\n" in out
    assert database.query("select count(*) from public.passport_entries") == [(int(read),)]
    assert database.query("select count(*) from coliseum.coliseum_dna_mutations") == [(int(written),)]
    assert database.query("select count(distinct entity_id) from public.coliseum_domain_strength") == [(int(ranked),)]
    assert database.query("select distinct as_of_date::text from public.coliseum_leaderboard_a_alltime") == [(as_of,)]
    assert int(days) == 10
    # The fan side: each view's row count as the database has it.
    for name in FAN_NAMES:
        [(n,)] = database.query(f"select count(*) from public.{name}")
        assert re.search(rf"\b{name} {n}\b", out) and n > 0, name
    assert re.search(r"most active user \w{8}: DNA A [\d.]+ T [\d.]+ G [\d.]+ C [\d.]+ \(\d+ events", out), out
    # A report: progress lines with the elapsed time (one per run started and finished), no dbt node lines,
    # no colour codes, nothing on stderr but alerts.
    progress = re.findall(r"^\[ *(\d+\.\d) s\] (.*)$", out, re.M)
    assert [line for _t, line in progress if line.strip().endswith(": ok") or "ok (" in line], out
    assert [float(t) for t, _line in progress] == sorted(float(t) for t, _line in progress)
    assert not DBT_NODE_LINE.search(out) and ANSI not in out and ANSI not in done.stderr
    assert all(line.startswith("ALERT") or "alert(s) written" in line for line in done.stderr.splitlines())
    # The runs live in DAGSTER_HOME, where `coliseum ui` shows them.
    with dagster_instance(settings) as instance:
        runs = instance.get_runs(RunsFilter(tags={"coliseum/launched_by": "cli"}))
        assert len(runs) == 3 and all(r.is_success for r in runs)  # daily, windows, publish


def as_background_job() -> None:
    """Start as a shell's background job does (`coliseum ui &` in a script, CI runners): SIGINT and SIGQUIT
    ignored, which an exec keeps. `dagster dev` maps SIGTERM to SIGINT's disposition, so it then ignored
    SIGTERM too and `coliseum ui` never shut down."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)


@contextlib.contextmanager
def ui_running(settings, port: int) -> Iterator[str]:
    """`coliseum ui` on `port` (the Dagster UI and the Data Docs it serves), until its webserver answers."""
    with tempfile.TemporaryFile(mode="w+") as log:
        child = subprocess.Popen(
            [COLISEUM, "ui", "--port", str(port)],
            env=cli_env(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=as_background_job,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    urllib.request.urlopen(f"{base}/server_info", timeout=2).close()
                    break
                except OSError:
                    if child.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        pytest.fail(f"coliseum ui did not start:\n{log.read()[-3000:]}")
                    time.sleep(0.5)
            yield base
        finally:
            spawned = descendants(child.pid)  # dagster dev, its webserver, daemon and code servers
            child.terminate()
            # Bounded by dagster dev's own shutdown (up to 60 s for its webserver, then 60 s for its daemon,
            # before it kills either); past that, nothing will end it, and its log says what it was doing.
            try:
                child.wait(150)
            except subprocess.TimeoutExpired:
                for pid in [child.pid, *spawned]:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                log.seek(0)
                pytest.fail(f"coliseum ui did not shut down in 150 s after SIGTERM:\n{log.read()[-3000:]}")
    # `coliseum ui` passed the SIGTERM on: none of the processes it started outlives it.
    deadline = time.monotonic() + 60
    while (alive := [pid for pid in spawned if Path(f"/proc/{pid}").exists()]) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert spawned and alive == [], alive


def descendants(root: int) -> list[int]:
    """Every process below `root` (Linux: parents read from /proc/<pid>/stat)."""
    parent = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, ppid in parent.items() if ppid in frontier]
        found += children
        frontier = children
    return found


def launch_chromium(playwright):
    """Headless Chromium: the system's (CI installs Debian's `chromium`), else Playwright's own."""
    executable = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
    args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"]
    try:
        return playwright.chromium.launch(executable_path=executable, args=args)
    except Exception as error:  # no browser at all: say how to get one
        pytest.fail(f"no headless Chromium for the UI test (apt-get install chromium): {error}")


def test_the_ui_in_a_browser_shows_lineage_partitions_data_docs_and_runs(main_job, tmp_path):
    """A smoke test of the operator's UI as a browser sees it: the asset graph, a window partition with its
    materialization, a check's Data Docs link opened (styled, no remote asset), the runs page; no page error,
    no failed request. Screenshots land in tmp_path."""
    from playwright.sync_api import sync_playwright

    settings, done = main_job
    assert done.returncode == 0, done.stdout + done.stderr
    as_of = re.search(r"as of (\S+):", done.stdout).group(1)
    with dagster_instance(settings) as instance:
        run_ids = [r.run_id for r in instance.get_runs(RunsFilter(tags={"coliseum/launched_by": "cli"}))]
    problems: list[str] = []
    with ui_running(settings, free_port()) as base, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text} {m.location}"))
        # A request the next navigation cancels (ERR_ABORTED) is the browser's doing, not a failure.
        page.on(
            "requestfailed",
            lambda r: "ERR_ABORTED" not in (r.failure or "") and problems.append(f"failed: {r.url} {r.failure}"),
        )
        page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))

        def visit(name: str, path: str, *texts: str) -> None:
            page.goto(base + path)
            for text in texts:
                page.get_by_text(text, exact=True).first.wait_for(timeout=60_000)
            skip = page.get_by_role("button", name="Skip")  # Dagster's community prompt, on a first visit
            if skip.count():
                skip.click()
            page.screenshot(path=str(tmp_path / f"{name}.png"))

        visit("lineage", "/asset-groups", "Global asset lineage", "sources", "coliseum", "published")
        window = f"{as_of}|7d"
        visit(
            "window_partition",
            f"/assets/coliseum/coliseum_leaderboard_history?view=partitions&partition={window}",
            window,
            "Latest materialization",
            "rows_written_by_build",
        )
        visit(
            "check",
            "/assets/coliseum/publication_candidate?view=checks&checkDetail=gx_leaderboard_suite",
            "GX suite coliseum_leaderboard on the twelve candidate boards (a failing row names its board).",
            "data_docs",
        )
        link = page.locator(f'a[href^="{settings.data_docs_url}/validations/coliseum_leaderboard/"]').first
        href = link.get_attribute("href")
        assert href and run_ids and any(run_id in href for run_id in run_ids), href  # the GX run is the Dagster run
        page.goto(href)
        page.get_by_text("coliseum_leaderboard").first.wait_for(timeout=30_000)
        styled = page.evaluate("() => [...document.styleSheets].filter(s => s.cssRules.length > 0).length")
        remote = page.evaluate(
            "() => [...document.querySelectorAll('link[href], script[src], img[src]')]"
            ".map(e => e.href || e.src).filter(u => !u.startsWith(location.origin))"
        )
        page.screenshot(path=str(tmp_path / "data_docs.png"))
        assert styled > 0 and remote == [], (styled, remote)
        visit("runs", "/runs", *(run_id[:8] for run_id in run_ids))
        browser.close()
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(
    ("args", "variables", "code", "message"),
    [
        (("generate", "--events", "-5"), {}, 2, "argument --events: -5 is below the minimum of 1"),
        (("run", "--to", "2026-11-20"), {}, 2, "--to needs --date"),
        (("run", "--date", "2024-12-31"), {}, 2, "--date 2024-12-31 is outside the partitions: pick a day from"),
        (("run", "--date", "2026-11-20", "--to", "2026-11-19"), {}, 2, "--date 2026-11-20 is after --to 2026-11-19"),
        (("run", "--date", "2026-13-01"), {}, 2, "argument --date: '2026-13-01' is not a YYYY-MM-DD date"),
        (("verify",), {"COLISEUM_DATABASE_URL": "nonsense"}, 2, "COLISEUM_DATABASE_URL is not a valid Postgres URL"),
        (("verify",), {"COLISEUM_DATABASE_URL": "postgresql://u@127.0.0.1:9/x"}, 1, "cannot reach the database"),
        (("init-db",), {"COLISEUM_SCHEDULE_HOUR": "25"}, 2, "COLISEUM_SCHEDULE_HOUR=25 must be 0-23"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(database, tmp_path, args, variables, code, message):
    settings = settings_for(database.url, tmp_path)
    done = run_cli(settings, *args, extra=variables)
    assert done.returncode == code, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    if code == 1:  # a failure (not an input) can be shown with its traceback
        debug = run_cli(settings, *args, "--debug", extra=variables)
        assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_help_lists_every_command_and_every_default(database, tmp_path):
    settings = settings_for(database.url, tmp_path)
    top = coliseum(settings, "--help")
    for name in ("init-db", "generate", "run", "late-days", "verify", "ui", "db"):
        assert re.search(rf"^\s+{name}\s+\w", top, re.M) or re.search(rf"^\s+{name}\n\s+\w", top, re.M), name
    generate = coliseum(settings, "generate", "--help")
    assert "(default: 100000)" in generate and "(default: 30)" in generate and "(default: yesterday)" in generate
    assert "(default: 3000)" in coliseum(settings, "ui", "--help")


def test_db_status_and_stop_on_the_embedded_server():
    # Not under pytest's tmp_path: the server runs as its own system user (tests/integration/conftest.py).
    home = Path(tempfile.mkdtemp(prefix="coliseum-test-home-"))
    settings = Settings.from_env({"COLISEUM_HOME": str(home)})
    try:
        assert "not running" in coliseum(settings, "db", "status")
        coliseum(settings, "init-db")  # starts the embedded server, which keeps running
        assert re.search(r"running, pid \d+", coliseum(settings, "db", "status"))
        assert "stopped" in coliseum(settings, "db", "stop")
        assert "not running" in coliseum(settings, "db", "status")
        assert "was not running" in coliseum(settings, "db", "stop")
    finally:
        run_cli(settings, "db", "stop")
        shutil.rmtree(home, ignore_errors=True)


def test_db_commands_leave_a_server_of_its_own_alone(database, tmp_path):
    out = coliseum(settings_for(database.url, tmp_path), "db", "stop")
    assert "not the embedded database" in out
    assert database.query("select 1") == [(1,)]
