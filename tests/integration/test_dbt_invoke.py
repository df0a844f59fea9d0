"""dbt in the pipeline's process (defs/dbt/invoke.py) on a real database: a failed invocation raises with dbt's
own error and its debug log, and a consumer that stops early leaves no dbt thread and no query behind."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from dagster_dbt.errors import DagsterDbtCliRuntimeError

from dagster_project.db.connection import dbt_env
from dagster_project.defs.dbt.invoke import RESULT_EVENTS, stream_dbt
from dagster_project.defs.dbt.vars import daily_vars, run_environment
from dagster_project.settings import DBT_PROJECT_DIR
from tests.support.database import AS_OF


def _stream(database, target, run_values: dict | None, select: str = "tag:daily"):
    return stream_dbt(
        ["build", "--select", select],
        project_dir=DBT_PROJECT_DIR,
        profiles_dir=DBT_PROJECT_DIR,
        target_path=target,
        parse_state=target.parent / "partial_parse.msgpack",
        variables={**dbt_env(database.url, database.settings), **run_environment(run_values)},
        echo=False,
    )


def _dbt_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "dbt"]


def test_a_failed_build_raises_with_dbts_error_and_its_log(database, tmp_path):
    # No run values: the staging model's compile stops on the missing start_date (dbt/macros/run_values.sql).
    with pytest.raises(DagsterDbtCliRuntimeError) as failure:
        list(_stream(database, tmp_path / "failed", {}, select="stg_passport__entries"))
    message = str(failure.value)
    assert "is required for stg_passport__entries (COLISEUM_DBT_RUN" in message
    assert f"dbt debug log: {tmp_path / 'failed' / 'dbt.log'}" in message
    assert (tmp_path / "failed" / "dbt.log").stat().st_size > 0
    assert not _dbt_threads()


def test_a_consumer_that_stops_early_cancels_dbt_and_joins_its_thread(database, tmp_path):
    run_values = daily_vars(AS_OF, AS_OF + timedelta(days=1), "invoke-test", database.settings)
    events = _stream(database, tmp_path / "stopped", run_values)
    first = next(events)
    assert first["info"]["name"] in RESULT_EVENTS and first["data"]["node_info"]["unique_id"]
    events.close()  # what an interrupted run does to the build's generator
    assert not _dbt_threads()
    # dbt was stopped, not waited for: its own log ends on a failed command, not on a finished build.
    log = [json.loads(line) for line in (tmp_path / "stopped" / "dbt.log").read_text().splitlines() if line]
    completed = [entry["data"] for entry in log if entry["info"]["name"] == "CommandCompleted"]
    assert completed and completed[-1]["success"] is False
    with database.connect() as conn:
        running = conn.execute(
            "select count(*) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() "
            "and backend_type = 'client backend' and state = 'active'"
        ).fetchone()[0]
    assert running == 0
