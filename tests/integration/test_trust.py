"""Trust regressions: each scenario an adversary found on the nightly path (issue: every published number
equals a full rebuild from the log). One log grows over three nights; each night is run through the real
pipeline (some first killed partway or failed), and after each the published relations must equal a full
rebuild (`verify --recompute`) and every entry be counted once, quarantined once, or not yet due. The tests
below then check the specific values each scenario broke."""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import timedelta

import pytest

from dagster_project.app.runner import PipelineRunError, execute_plan, run_pipeline
from dagster_project.app.verify import verify
from dagster_project.defs.alerts.alerts import freshness_alerts, run_alerts
from dagster_project.defs.nightly.pending import late_days, pending_days
from dagster_project.defs.nightly.plan import nightly_plan
from dagster_project.defs.publish.publication import (
    OlderPublicationError,
    current_publication,
    publish,
    stage_candidate,
)
from dagster_project.devtools.generate import generate
from tests.support.database import AS_OF
from tests.support.helpers import quiet, run_cli
from tests.support.scenario import Log, assert_each_entry_once, assert_equals_full_rebuild, at, kill_partway, run_night

D1, D2, D3, D4 = (AS_OF - timedelta(days=n) for n in (3, 2, 1, 0))


def cli(database, *args: str) -> subprocess.CompletedProcess:
    return run_cli(database.settings, *args)


def published(database, name: str, where: str = "true", params: tuple = ()) -> list[tuple]:
    return database.query(f"select * from public.{name} where {where} order by 1, 2", params)


def refund_outcomes(database) -> dict[str, str]:
    return dict(
        database.query(
            "select passport_entry_id::text, refund_outcome from coliseum.int_treasury_transactions "
            "where kind = 'refund'"
        )
    )


@pytest.fixture(scope="module")
def story(database):
    """Three nights of adversarial arrivals; returns what the tests inspect, captured along the way."""
    log = Log(database.url)
    a0, a1, a2 = log.artists[:3]
    seen: dict = {}
    with database.connect() as conn:
        generate(conn, database.settings, events=800, days=4, seed=31, end_date=D2)

    # Night 1 (as of D2), killed right after staging first.
    p1 = log.payment(D1, hour=9)
    r1_eur = log.refund(D2, p1["id"], currency="EUR", hour=10)  # wrong currency: must not take the slot
    r1 = log.refund(D2, p1["id"], hour=11)
    q = log.payment(D1, hour=12, artist=a1)
    r3 = log.refund(D2, q["id"], hour=15, artist=a1)
    px_id = str(uuid.uuid4())
    rx = log.refund(D2, px_id, hour=16, artist=a2)  # its payment arrives on night 2, dated before it
    x = log.follow(D1, artist=a2, user=log.users[3])
    future = log.follow(D4, artist=a2, user=log.users[4], hour=8)  # not yet due until D4
    spelled = log.entry("artist_follow", at(D2, 13), a0, log.users[5], score=100)
    log.insert(spelled, {**spelled, "metadata": json.dumps({"artist_id": a0, "score": 100.0})})
    poison = {
        "oversized_text": [
            log.entry("artist_follow", at(D2, 14), a0, genre="g" * 3000),  # over a btree key
            log.entry("artist_follow", at(D2, 14), a0, note="\U0001f3b5" * 4500),  # 18,000 bytes, 4,500 chars
        ],
        "before_platform_start": [log.entry("artist_follow", "-infinity"), log.entry("artist_follow", "0044-03-15 BC")],
        "invalid_created_at": [log.entry("artist_follow", "infinity"), log.entry("artist_follow", "10000-01-01")],
    }
    for rows in poison.values():
        log.insert(*rows)
    with database.connect() as conn:
        seen["pending_before_night_1"] = late_days(conn, database.settings)
        seen["alerts_with_poison"] = freshness_alerts(conn, database.settings)
    kill_partway(database, D2, "daily:0", database.instance)
    with pytest.raises(PipelineRunError) as refused:  # publishing over the killed day is refused
        execute_plan(database.settings, nightly_plan([D2])[-1:], D2, database.instance, log=quiet)
    seen["publish_over_open_day"] = str(refused.value)
    run_night(database, D2)
    assert_equals_full_rebuild(database)
    assert_each_entry_once(database, D2)
    seen["night_1_outcomes"] = refund_outcomes(database)
    seen["night_1_board"] = published(database, "coliseum_leaderboard_a_7d")
    seen["night_1_previous_ranks"] = day_before_ranks(database, D1)

    # Night 2 (as of D3): a conflicting copy, a late refund before the reversal, the missing payment; the first
    # run is killed after the windows, before publishing.
    x_conflict = log.insert({**x, "created_at": at(D3), "device_id": "device-2"})[0]
    r2 = log.refund(D1, q["id"], hour=18, artist=a1)  # after Q, before R3: it is the reversal now
    log.payment(D1, entry_id=px_id, artist=a2, hour=8)
    late_fan = log.follow(D1, artist=a0, user=str(uuid.uuid4()))
    mutations_before = published(database, "coliseum_dna_mutations")
    metrics_before = published(database, "coliseum_metrics")
    with database.connect() as conn:
        seen["pending_before_night_2"] = pending_days(conn, database.settings, D3)
    # First killed in its ledger step, between the marks and the record: the entries are processed, the days open.
    kill_partway(database, D3, "marked", database.instance)
    with database.connect() as conn:
        seen["pending_after_marks"] = pending_days(conn, database.settings, D3)
    first = min(seen["pending_before_night_2"])  # the first daily run of the plan starts on it
    seen["unmarked_after_marks"] = database.query(
        "select count(*) from public.passport_entries where coliseum_processed_at is null and created_at >= %s "
        "and created_at < %s",
        (at(first, 0), at(first + timedelta(days=1), 0)),
    )[0][0]
    kill_partway(database, D3, "no_publish", database.instance)
    seen["mutations_unchanged_before_publish"] = published(database, "coliseum_dna_mutations") == mutations_before
    seen["metrics_unchanged_before_publish"] = published(database, "coliseum_metrics") == metrics_before
    run_night(database, D3)
    assert_equals_full_rebuild(database)
    assert_each_entry_once(database, D3)

    # Night 3 (as of D4): the future entry is due; the first run fails its checks, the next one retries.
    drill = database.settings.with_changes(audit_force_fail=frozenset({"reconciliation"}))
    with pytest.raises(PipelineRunError) as failed:
        run_night(database, D4, settings=drill)
    seen["failure"] = str(failed.value)
    seen["failed_run_ids"] = failed.value.run_ids
    seen["publication_after_failure"] = current_publication_date(database)
    with database.connect() as conn:
        seen["pending_after_failure"] = pending_days(conn, database.settings, D4)
    run_night(database, D4)
    assert_equals_full_rebuild(database)
    assert_each_entry_once(database, D4)
    seen.update(
        log=log,
        p1=p1,
        r1=r1,
        r1_eur=r1_eur,
        q=q,
        r2=r2,
        r3=r3,
        rx=rx,
        px_id=px_id,
        x=x,
        x_conflict=x_conflict,
        future=future,
        spelled=spelled,
        poison=poison,
        late_fan=late_fan,
    )
    return seen


def current_publication_date(database):
    with database.connect() as conn:
        return current_publication(conn, database.settings).as_of_date


def test_a_killed_run_is_redone_by_the_next(story, database):
    """Night 1 was killed after staging committed; night 2 before publishing. Each next run equals a full
    rebuild (asserted in the fixture) and nothing was left unprocessed or half counted. Night 2 was first
    killed in its ledger step after the marks: its days stay pending as before, since none was recorded."""
    assert story["night_1_board"], "night 1 published"
    assert story["unmarked_after_marks"] == 0
    assert story["pending_after_marks"] == story["pending_before_night_2"]
    assert story["pending_before_night_2"]
    assert "rebuilt and not audited (killed, failed or still running)" in story["publish_over_open_day"]
    assert database.query(
        "select count(*) from public.passport_entries where coliseum_processed_at is null and created_at < %s",
        (at(D4 + timedelta(days=1), 0),),
    ) == [(0,)]


def test_wrong_currency_refund_never_takes_the_payments_slot(story):
    outcomes = story["night_1_outcomes"]
    assert outcomes[story["r1_eur"]["id"]] == "currency_mismatch"
    assert outcomes[story["r1"]["id"]] == "reversed"


def test_a_late_earlier_refund_takes_over_and_the_payment_is_reversed_once(story, database):
    assert story["night_1_outcomes"][story["r3"]["id"]] == "reversed"
    outcomes = refund_outcomes(database)
    assert outcomes[story["r2"]["id"]] == "reversed"
    assert outcomes[story["r3"]["id"]] == "already_refunded"
    a1 = story["log"].artists[1]
    rows = published(database, "artist_revenue_summary", "artist_id = %s and \"window\" = 'alltime'", (a1,))
    assert [(r[5], r[6], r[7]) for r in rows] == [(700, 700, 0)]  # gross, refunds, net: reversed once


def test_a_refund_whose_payment_arrives_late_is_released(story, database):
    assert story["night_1_outcomes"].get(story["rx"]["id"]) is None  # quarantined on night 1
    assert refund_outcomes(database)[story["rx"]["id"]] == "reversed"
    assert database.query(
        "select count(*) from coliseum.coliseum_quarantine where passport_entry_id = %s", (story["rx"]["id"],)
    ) == [(0,)]


def test_a_conflicting_copy_on_a_later_day_quarantines_every_copy(story, database):
    reasons = database.query(
        "select activity_date, rejection_reason from coliseum.coliseum_quarantine where passport_entry_id = %s "
        "order by 1",
        (story["x"]["id"],),
    )
    assert reasons == [(D1, "conflicting_duplicate_id"), (D3, "conflicting_duplicate_id")]
    assert published(database, "coliseum_dna_mutations", "passport_entry_id = %s", (story["x"]["id"],)) == []


def test_values_equal_as_jsonb_are_one_entry(story, database):
    rows = database.query(
        "select rejection_reason, duplicate_copies from coliseum.stg_passport__entries where passport_entry_id = %s",
        (story["spelled"]["id"],),
    )
    assert rows == [(None, 1)]


def test_a_future_entry_waits_for_its_day_and_is_counted_once(story, database):
    entry = story["future"]["id"]
    assert database.query(
        "select count(*) from coliseum.coliseum_quarantine where passport_entry_id = %s", (entry,)
    ) == [(0,)]
    assert database.query(
        "select count(*) from public.coliseum_dna_mutations where passport_entry_id = %s", (entry,)
    ) == [(4,)]


def test_poison_rows_are_quarantined_and_never_block(story, database):
    reasons = dict(
        database.query(
            "select raw_entry ->> 'id', rejection_reason from coliseum.coliseum_quarantine where raw_entry ->> 'id' "
            "= any(%s)",
            ([r["id"] for rows in story["poison"].values() for r in rows],),
        )
    )
    assert reasons == {r["id"]: reason for reason, rows in story["poison"].items() for r in rows}
    assert story["night_1_board"], "the poisoned day was published"
    assert {alert.kind for alert in story["alerts_with_poison"]} <= {"stale_publication", "backlog"}
    with database.connect() as conn:
        report = verify(conn, database.settings)
    assert report.ok, [f for f in report.findings if f.status != "ok"]
    assert cli(database, "late-days").returncode == 0


def test_previous_rank_is_the_rank_at_the_day_before_from_the_same_log(story, database):
    """D-1's ranks come from the same log state as D's board: on the first publication every artist active at
    D-1 has one, and they equal a board ranked from the daily rollups as of D-1."""
    board, expected = story["night_1_board"], story["night_1_previous_ranks"]
    assert sum(row[6] is not None for row in board) >= 5, "a first publication shows movement"
    assert {row[1]: row[6] for row in board} == {row[1]: expected.get(row[1]) for row in board}
    current = published(database, "coliseum_leaderboard_a_7d")
    expected = day_before_ranks(database, D3)
    assert {row[1]: row[6] for row in current} == {row[1]: expected.get(row[1]) for row in current}
    assert all(row[7] == (row[6] - row[0] if row[6] is not None else None) for row in current)


def day_before_ranks(database, day) -> dict:
    return dict(
        database.query(
            "select entity_id, rank() over (order by sum(strength) desc) from coliseum.int_artist_domain_daily "
            "where domain = 'A' and activity_date between %s and %s group by entity_id",
            (day - timedelta(days=6), day),
        )
    )


def test_published_mutations_change_only_at_publish(story):
    assert story["mutations_unchanged_before_publish"]
    assert story["metrics_unchanged_before_publish"]


def test_a_failed_day_is_retried_by_the_next_run_and_its_alert_says_so(story, database):
    assert "reconciliation" in story["failure"]
    assert story["publication_after_failure"] == D3, "the failed night published nothing"
    assert D4 in story["pending_after_failure"]
    failed = [a for a in run_alerts(database.instance, story["failed_run_ids"]) if a.kind == "run_failed"]
    assert failed and "next run retries these days" in failed[0].message
    assert current_publication_date(database) == D4


def test_verify_recompute_finds_a_hand_edited_value(story, database):
    assert current_publication_date(database) == D4
    clean = cli(database, "verify", "--recompute")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "OK: every published relation equals a full rebuild" in clean.stdout
    with database.connect() as conn:
        entity = conn.execute("select entity_id from public.coliseum_leaderboard_g_30d limit 1").fetchone()[0]
        conn.execute(
            "update coliseum.coliseum_published_leaderboards set score = score + 1 where entity_id = %s "
            "and domain = 'G' and \"window\" = '30d' and publication_id = %s",
            (entity, current_publication(conn, database.settings).publication_id),
        )
    dirty = cli(database, "verify", "--recompute")
    assert dirty.returncode == 1
    assert "DIFFERS  coliseum_leaderboard_g_30d" in dirty.stdout and str(entity) in dirty.stdout


def test_rerunning_a_past_day_republishes_the_live_date(story, database):
    """Last of the module: it leaves an older date published."""
    live = current_publication_date(database)
    summary = run_pipeline(database.settings, [D2], database.instance, log=quiet)
    assert summary.as_of_date == live == current_publication_date(database)
    assert_equals_full_rebuild(database)
    with database.connect() as conn:
        candidate = stage_candidate(conn, database.settings, D2, "older")
        with pytest.raises(OlderPublicationError, match=f"replace the live publication .* as of {live}"):
            publish(conn, database.settings, candidate)
    lines = []
    run_pipeline(database.settings, [D2], database.instance, log=lines.append, publish_older=True)
    assert current_publication_date(database) == D2
    assert any(f"replacing the newer live publication as of {live}" in line for line in lines)
    assert_equals_full_rebuild(database)
