"""Write-audit-publish: a failed blocking check, a killed run, concurrent runs, readers during publish and
grants never damage the last good publication."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import uuid
from datetime import timedelta

import psycopg
import pytest

from dagster_project.app.runner import PipelineRunError, execute_plan, run_pipeline
from dagster_project.contract import BOARD_NAMES
from dagster_project.defs.nightly.plan import nightly_plan
from dagster_project.defs.publish.publication import current_publication, publish, stage_candidate
from dagster_project.devtools.generate import generate
from tests.support.database import AS_OF
from tests.support.helpers import COLISEUM, cli_env, quiet, run_cli, table_rows

D = AS_OF
UNION = " union all ".join(f"select as_of_date from public.{name}" for name in BOARD_NAMES)


def published_state(database) -> dict[str, list[tuple]]:
    with database.connect() as conn:
        state = {name: conn.execute(f"select * from public.{name}").fetchall() for name in BOARD_NAMES}
        state["strength"] = table_rows(conn, "public.coliseum_domain_strength", 'entity_id, domain, "window"')
    return state


@pytest.fixture(scope="module")
def published(database):
    with database.connect() as conn:
        generate(conn, database.settings, events=3000, days=20, seed=9, end_date=D)
    run_pipeline(database.settings, [D - timedelta(days=1)], database.instance)
    return published_state(database)


def test_failed_blocking_check_keeps_the_publication(database, published):
    plan = nightly_plan([D])
    execute_plan(database.settings, plan[:2], D, database.instance, log=quiet)
    with database.connect() as conn:
        # Corrupt the build after its dbt tests passed: the leader of board A/7d loses the name the app shows
        # (a rule of the leaderboard suite; ranks are the dbt tests', see test_audits.py).
        leader = conn.execute(
            "update coliseum.coliseum_leaderboard_history set artist_name = null where as_of_date = %s and "
            "\"window\" = '7d' and domain = 'A' and rank = 1 returning entity_id::text",
            (D,),
        ).fetchone()[0]
    with pytest.raises(PipelineRunError) as failure:
        execute_plan(database.settings, plan[2:], D, database.instance, log=quiet)
    message = str(failure.value)
    assert "gx_leaderboard_suite" in message and "a_7d" in message and leader in message
    assert published_state(database) == published
    with database.connect() as conn:
        assert current_publication(conn, database.settings).as_of_date == D - timedelta(days=1)


def test_forced_gate_failure_then_recovery(database, published):
    plan = nightly_plan([D])
    drill = database.settings.with_changes(audit_force_fail=frozenset({"gx_strength_suite"}))
    with pytest.raises(PipelineRunError, match="gx_strength_suite"):
        execute_plan(drill, plan[2:], D, database.instance, log=quiet)
    assert published_state(database) == published
    execute_plan(database.settings, plan[1:], D, database.instance, log=quiet)  # rebuild the corrupted boards, publish
    assert {r[0] for r in database.query(UNION)} == {D}


def test_a_failed_window_build_keeps_its_date_from_a_publish_run_on_its_own(database, published):
    plan = nightly_plan([D])
    before = published_state(database)  # earlier tests of the module may have published D already
    execute_plan(database.settings, plan[:2], D, database.instance, log=quiet)
    passed = database.query(
        "select distinct partition_key from coliseum.coliseum_audit_results where check_name = 'dbt_build_windows' "
        "and passed and partition_key like %s order by 1",
        (f"{D}|%",),
    )
    assert [row[0] for row in passed] == [f"{D}|30d", f"{D}|7d", f"{D}|alltime"]
    with database.connect() as conn:  # the all-time branch's input disappears: the windows' dbt build fails
        conn.execute("alter table coliseum.int_artist_domain_totals rename to int_artist_domain_totals_away")
    try:
        with pytest.raises(PipelineRunError):
            execute_plan(database.settings, plan[1:2], D, database.instance, log=quiet)
    finally:
        with database.connect() as conn:
            conn.execute("alter table coliseum.int_artist_domain_totals_away rename to int_artist_domain_totals")
    # Publish launched alone (as from the UI) refuses the date and names the failed window build.
    with pytest.raises(PipelineRunError) as failure:
        execute_plan(database.settings, plan[2:], D, database.instance, log=quiet)
    assert f"the dbt build of window {D}|alltime failed" in str(failure.value)
    assert published_state(database) == before
    execute_plan(database.settings, plan[1:], D, database.instance, log=quiet)  # rebuilt windows publish again
    assert {r[0] for r in database.query(UNION)} == {D}


def test_readers_see_a_complete_old_or_new_set(database, published):
    dates = [D - timedelta(days=1), D]
    totals = dict(
        database.query(
            "select as_of_date, count(*) from coliseum.coliseum_leaderboard_history where as_of_date = any(%s) "
            "group by 1",
            (dates,),
        )
    )
    assert set(totals) == set(dates)
    seen, errors, stop = [], [], threading.Event()

    def read() -> None:
        with psycopg.connect(database.url, autocommit=True) as reader:
            while not stop.is_set():
                try:
                    seen.append(reader.execute(f"select as_of_date, count(*) from ({UNION}) b group by 1").fetchall())
                except psycopg.Error as error:  # a reader must never fail either
                    errors.append(error)

    thread = threading.Thread(target=read)
    thread.start()
    try:
        with database.connect() as conn:
            for i in range(12):
                candidate = stage_candidate(conn, database.settings, dates[i % 2], "reader")
                publish(conn, database.settings, candidate, allow_older=True)
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert len(seen) > 12
    for snapshot in seen:
        assert len(snapshot) == 1, f"a mix of publications: {snapshot}"
        as_of, count = snapshot[0]
        assert count == totals[as_of], "an incomplete set of boards"


def test_grants_survive_publish(database, published):
    role = f"coliseum_reader_{uuid.uuid4().hex[:6]}"
    with database.connect() as conn:
        conn.execute(f"create role {role} nologin")
        try:
            conn.execute(f"grant usage on schema public to {role}")
            for name in BOARD_NAMES:
                conn.execute(f"grant select on public.{name} to {role}")
            publish(conn, database.settings, stage_candidate(conn, database.settings, D, "grants"))
            privileges = conn.execute(
                "select bool_and(has_table_privilege(%s, 'public.' || name, 'select')) from unnest(%s::text[]) name",
                (role, list(BOARD_NAMES)),
            ).fetchone()[0]
        finally:
            conn.execute(f"drop owned by {role}")
            conn.execute(f"drop role {role}")
    assert privileges is True


def test_killed_run_leaves_publication_and_next_run_recovers(database, published):
    before = published_state(database)
    process = subprocess.Popen(
        [COLISEUM, "run", "--date", D.isoformat()],
        env=cli_env(database.settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    for line in process.stdout:  # kill as soon as the windows stage has started
        if "coliseum_daily" in line:
            break
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert published_state(database) == before
    done = run_cli(database.settings, "run", "--date", D.isoformat())
    assert done.returncode == 0, done.stdout + done.stderr
    assert {r[0] for r in database.query(UNION)} == {D}


def test_two_runs_at_once_do_not_corrupt(database, published):
    runs = [
        subprocess.Popen(
            [COLISEUM, "run", "--date", D.isoformat()],
            env=cli_env(database.settings),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outcomes = [(p.wait(timeout=900), *p.communicate()) for p in runs]
    assert any(code == 0 for code, _out, _err in outcomes), outcomes
    for code, out, err in outcomes:
        assert code == 0 or "failed" in (out + err), "a run that fails says so"
    duplicates = database.query(
        "select (select count(*) - count(distinct (passport_entry_id, domain)) from coliseum.coliseum_dna_mutations),"
        ' (select count(*) - count(distinct (as_of_date, "window", entity_id, domain)) '
        "  from coliseum.coliseum_domain_strength),"
        ' (select count(*) - count(distinct (as_of_date, "window", domain, entity_id)) '
        "  from coliseum.coliseum_leaderboard_history)"
    )
    assert duplicates == [(0, 0, 0)]
    published_rows = database.query(f"select count(*) from ({UNION}) b")[0][0]
    history_rows = database.query(
        "select count(*) from coliseum.coliseum_leaderboard_history where as_of_date = %s", (D,)
    )[0][0]
    assert published_rows == history_rows, "the publication is the complete set of D's boards"
