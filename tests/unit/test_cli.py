"""The CLI's pure parts: which as-of dates a `run` means, one-line errors, and the shared Dagster instance."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import psycopg
import pytest

from dagster_project.app.cli import CliError, _output, build_parser, describe, run_dates, share_dagster_home
from dagster_project.settings import Settings, SettingsError

YESTERDAY = date(2026, 11, 30)


def dates(settings: Settings, *argv: str) -> list[date]:
    return run_dates(build_parser().parse_args(["run", *argv]), settings, YESTERDAY)


def test_run_dates(tmp_path):
    settings = Settings.from_env({"COLISEUM_HOME": str(tmp_path), "COLISEUM_PARTITIONS_START": "2026-11-01"})
    assert dates(settings) == [YESTERDAY]
    assert dates(settings, "--date", "2026-11-20") == [date(2026, 11, 20)]
    assert dates(settings, "--date", "2026-11-28", "--to", "2026-11-30") == [
        date(2026, 11, 28), date(2026, 11, 29), date(2026, 11, 30)
    ]  # fmt: skip
    assert dates(settings, "--date", "2026-11-01") == [date(2026, 11, 1)]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--to", "2026-11-20"), "--to needs --date"),
        (("--date", "2026-10-31"), "--date 2026-10-31 is outside the partitions: pick a day from 2026-11-01"),
        (("--date", "2026-12-01"), "through 2026-11-30 (yesterday, UTC)"),
        (("--date", "2026-11-20", "--to", "2026-12-01"), "--to 2026-12-01 is outside the partitions"),
        (("--date", "2026-11-21", "--to", "2026-11-20"), "--date 2026-11-21 is after --to 2026-11-20"),
    ],
)
def test_run_dates_refuse_what_no_partition_holds(tmp_path, argv, message):
    settings = Settings.from_env({"COLISEUM_HOME": str(tmp_path), "COLISEUM_PARTITIONS_START": "2026-11-01"})
    with pytest.raises(CliError, match=message.replace("(", r"\(").replace(")", r"\)")):
        dates(settings, *argv)


def test_errors_are_one_line_with_an_exit_code():
    assert describe(CliError("--to needs --date")) == ("--to needs --date", 2)
    assert describe(SettingsError("COLISEUM_X='y' is bad")) == ("COLISEUM_X='y' is bad", 2)
    assert describe(psycopg.OperationalError("connection refused\nIs the server running?")) == (
        "cannot reach the database: connection refused", 1
    )  # fmt: skip
    line, code = describe(KeyError("dagster/partition"))
    assert code == 1 and "\n" not in line and line.endswith("(--debug shows the traceback)")


def test_plain_dagster_dev_finds_the_clis_instance(tmp_path):
    """`dagster dev` reads `.env` from its folder before choosing an instance; the CLI writes DAGSTER_HOME there
    for the checkout's own home, so both show the same runs (and never overwrites a .env of the user's)."""
    settings = Settings.from_env({"COLISEUM_HOME": str(tmp_path / ".coliseum")})
    assert share_dagster_home(settings, root=tmp_path) == tmp_path / ".env"
    settings.dagster_home.mkdir(parents=True)
    # What `dagster dev` runs first: its instance, from the folder it starts in.
    probe = (
        "from dagster._cli.utils import get_possibly_temporary_instance_for_cli as get\n"
        "with get('dev') as instance: print(instance.root_directory)"
    )
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.stdout.strip() == str(settings.dagster_home), done.stderr
    other = Settings.from_env({"COLISEUM_HOME": str(tmp_path / "elsewhere")})
    assert share_dagster_home(other, root=tmp_path) is None
    (tmp_path / ".env").write_text("DAGSTER_HOME=/srv/dagster\n")
    assert share_dagster_home(settings, root=tmp_path) is None
    assert (tmp_path / ".env").read_text() == "DAGSTER_HOME=/srv/dagster\n"


def test_library_output_is_hidden_unless_verbose(capsys):
    with _output(verbose=False) as out:
        print("1 of 42 START sql incremental model coliseum.stg_passport__entries")  # dagster-dbt's stdout
        print("[   1.0 s] progress", file=out)
    assert capsys.readouterr().out == "[   1.0 s] progress\n"
    with _output(verbose=True):
        print("1 of 42 START sql incremental model")
        colour = os.environ.get("DBT_USE_COLORS")
    assert "1 of 42 START" in capsys.readouterr().out
    assert colour == "false" and "DBT_USE_COLORS" not in os.environ  # not a terminal: dbt prints no colour codes
