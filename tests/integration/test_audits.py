"""Output audits on real data: each blocking suite catches its defect and names the rows; warnings publish."""

from __future__ import annotations

import re
import threading
import urllib.parse
import urllib.request
import uuid
from datetime import timedelta

import pytest
from dagster import AssetCheckKey, AssetKey

from dagster_project.app.runner import PipelineRunError, execute_plan, run_pipeline
from dagster_project.contract import WINDOWS
from dagster_project.defs.dbt.vars import daily_vars, window_vars
from dagster_project.defs.nightly.plan import nightly_plan
from dagster_project.defs.publish.publication import current_publication
from dagster_project.defs.quality.gx import data_docs_server, run_suite
from dagster_project.devtools.generate import generate
from tests.support.database import AS_OF
from tests.support.helpers import dbt_test, failing_rows, quiet

D = AS_OF
PLAN = nightly_plan([D])


@pytest.fixture(scope="module")
def built(database):
    with database.connect() as conn:
        generate(conn, database.settings, events=2500, days=12, seed=13, end_date=D)
    return run_pipeline(database.settings, [D], database.instance)


def corrupt_one_row(database, table: str, change: str, where: str, name: str) -> str:
    """The defect a check must catch: one row of a built table changed. Returns its `name` column.
    `where` takes D as its one parameter."""
    with database.connect() as conn:
        return conn.execute(
            f"update coliseum.{table} set {change} where ctid = "
            f"(select ctid from coliseum.{table} where {where} limit 1) returning {name}::text",
            (D,),
        ).fetchone()[0]


def live_publication(database) -> int:
    with database.connect() as conn:
        return current_publication(conn, database.settings).publication_id


def test_mutation_without_its_entry_fails_the_mutations_suite(database, built):
    orphan = str(uuid.uuid4())
    with database.connect() as conn:
        conn.execute(
            "insert into coliseum.coliseum_dna_mutations (passport_entry_id, entity_id, domain, event_type, "
            "effective_delta, weight_version, quality_factor, user_id, created_at, activity_date) "
            "select %s, entity_id, domain, event_type, effective_delta, weight_version, quality_factor, user_id, "
            "created_at, activity_date from coliseum.coliseum_dna_mutations where activity_date = %s limit 1",
            (orphan, D),
        )
    try:
        run = run_suite(
            database.url,
            database.settings,
            "coliseum_dna_mutations",
            str(D),
            f"select * from coliseum.coliseum_dna_mutations where activity_date = '{D}'",
        )
    finally:
        with database.connect() as conn:
            conn.execute("delete from coliseum.coliseum_dna_mutations where passport_entry_id = %s", (orphan,))
    assert not run.success
    [failure] = run.failures
    assert failure["expectation"] == "unexpected_rows_expectation"
    assert failure["unexpected_count"] == 1
    assert failure["sample"][0]["passport_entry_id"] == orphan


@pytest.mark.parametrize(
    ("table", "keys"),
    [("coliseum_domain_strength", ("entity_id", "domain")), ("artist_revenue_summary", ("artist_id", "currency"))],
)
def test_duplicated_key_fails_the_window_dbt_test(database, built, tmp_path, table, keys):
    # One owner per rule: a mart's key is its dbt test (a blocking check of the window build), not a GX suite's.
    board = f"coliseum.{table} where as_of_date = %s and \"window\" = 'alltime'"
    with database.connect() as conn:
        first = conn.execute(
            f"insert into coliseum.{table} (select * from {board} order by {', '.join(keys)} limit 1) "
            f"returning {', '.join(f'{key}::text' for key in keys)}",
            (D,),
        ).fetchone()
    try:
        [test] = dbt_test(database, f"{table},test_name:row_rules", window_vars(D, list(WINDOWS)), tmp_path)
        assert test.status == "fail" and test.failures == 1
        [(rule, row)] = failing_rows(database, test)
        assert rule == f'key: (as_of_date, "window", {", ".join(keys)})'
        key = dict(zip(keys, first, strict=True))
        assert row == {"as_of_date": D.isoformat(), "window": "alltime", **key, "occurrences": 2}
    finally:
        with database.connect() as conn:
            match = " and ".join(f"{key}::text = %s" for key in keys)
            conn.execute(
                f"delete from coliseum.{table} where ctid = (select max(ctid) from {board} and {match})",
                (D, *first),
            )


def test_each_row_rule_fails_the_daily_dbt_test_and_names_its_row(database, built, tmp_path):
    # row_rules holds a model's key, not-null columns, accepted values and expressions in one dbt test node:
    # each broken rule is its own failing row, naming the rule and the offending row.
    mutations = "coliseum.coliseum_dna_mutations"
    with database.connect() as conn:
        rows = conn.execute(
            f"select passport_entry_id, domain, entity_id, effective_delta from {mutations} "
            "where activity_date = %s order by passport_entry_id, domain limit 4",
            (D,),
        ).fetchall()
        (null_id, null_domain, artist, _), (bad_id, bad_domain, _, _), (zero_id, zero_domain, _, delta) = rows[:3]
        copied_id, copied_domain = rows[3][:2]
        key = f"passport_entry_id = %s and domain = %s and activity_date = '{D}'"
        conn.execute(f"update {mutations} set entity_id = null where {key}", (null_id, null_domain))
        conn.execute(f"update {mutations} set domain = 'X' where {key}", (bad_id, bad_domain))
        conn.execute(f"update {mutations} set effective_delta = 0 where {key}", (zero_id, zero_domain))
        conn.execute(f"insert into {mutations} (select * from {mutations} where {key})", (copied_id, copied_domain))
    try:
        day_vars = daily_vars(D, D + timedelta(days=1), "test", database.settings)
        [test] = dbt_test(database, "coliseum_dna_mutations,test_name:row_rules", day_vars, tmp_path)
        assert (test.status, test.failures) == ("fail", 4)
        failed = {rule: row for rule, row in failing_rows(database, test)}
        assert set(failed) == {
            "not_null: entity_id",
            "accepted_values: domain",
            "expression: effective_delta <> 0",
            "key: (passport_entry_id, domain)",
        }
        assert failed["not_null: entity_id"]["passport_entry_id"] == str(null_id)
        assert failed["accepted_values: domain"]["passport_entry_id"] == str(bad_id)
        assert failed["expression: effective_delta <> 0"]["passport_entry_id"] == str(zero_id)
        assert failed["key: (passport_entry_id, domain)"] == {
            "passport_entry_id": str(copied_id),
            "domain": copied_domain,
            "occurrences": 2,
        }
    finally:
        with database.connect() as conn:
            conn.execute(f"update {mutations} set entity_id = %s where {key}", (artist, null_id, null_domain))
            conn.execute(f"update {mutations} set domain = %s where {key}", (bad_domain, bad_id, "X"))
            conn.execute(f"update {mutations} set effective_delta = %s where {key}", (delta, zero_id, zero_domain))
            conn.execute(
                f"delete from {mutations} where ctid = (select max(ctid) from {mutations} where {key})",
                (copied_id, copied_domain),
            )


def test_rank_gap_fails_the_window_dbt_test(database, built, tmp_path):
    # Competition ranks are the dbt test's (coliseum_leaderboard_history), not the leaderboard suite's.
    leader = corrupt_one_row(
        database,
        "coliseum_leaderboard_history",
        "rank = 2",
        "as_of_date = %s and \"window\" = '7d' and domain = 'A' and rank = 1",
        "entity_id",
    )
    try:
        [test] = dbt_test(
            database, "coliseum_leaderboard_history,test_name:competition_ranks", window_vars(D, ["7d"]), tmp_path
        )
        assert test.status == "fail" and test.failures == 1
        [row] = failing_rows(database, test)
        assert (str(row[0]), row[1], row[2], row[3], row[4]) == (D.isoformat(), "7d", "A", 2, 1)
    finally:
        with database.connect() as conn:
            conn.execute(
                "update coliseum.coliseum_leaderboard_history set rank = 1 where as_of_date = %s and "
                "\"window\" = '7d' and domain = 'A' and entity_id::text = %s",
                (D, leader),
            )


@pytest.mark.parametrize(
    ("table", "change", "where", "name", "check"),
    [
        (
            "coliseum_domain_strength",
            "strength = strength + 1",
            "as_of_date = %s and \"window\" = '30d' and domain = 'T'",
            "entity_id",
            "gx_strength_suite",
        ),
        (
            # All time is reconciled with the running totals as of the date, not a sum of the history.
            "coliseum_domain_strength",
            "event_count = event_count + 1",
            "as_of_date = %s and \"window\" = 'alltime' and domain = 'A'",
            "entity_id",
            "gx_strength_suite",
        ),
        (
            "artist_revenue_summary",
            "gross_cents = gross_cents + 100, net_cents = net_cents + 100",
            "as_of_date = %s and \"window\" = 'alltime'",
            "artist_id",
            "gx_revenue_suite",
        ),
    ],
)
def test_window_mart_that_differs_from_its_sources_blocks_publish(database, built, table, change, where, name, check):
    # Strength against its mutations' daily rollups, revenue against its payments.
    before = live_publication(database)
    artist = corrupt_one_row(database, table, change, where, name)
    try:
        with pytest.raises(PipelineRunError) as failure:
            execute_plan(database.settings, PLAN[2:], D, database.instance, log=quiet)
        assert check in str(failure.value) and artist in str(failure.value)
        assert live_publication(database) == before
    finally:
        execute_plan(
            database.settings, PLAN[1:2], D, database.instance, log=quiet
        )  # rebuild the windows from the rollups


def test_a_running_total_that_does_not_add_its_day_fails_its_increments_test(database, built, tmp_path):
    # What makes the all-time reconciliation above sound: each totals row, when built, adds exactly its day.
    artist = corrupt_one_row(
        database,
        "int_artist_domain_totals",
        "strength = strength + 1",
        "activity_date = %s and domain = 'T'",
        "entity_id",
    )
    try:
        day_vars = daily_vars(D, D + timedelta(days=1), "test", database.settings)
        tests = dbt_test(database, "int_artist_domain_totals,test_name:running_totals_increments", day_vars, tmp_path)
        by_daily = {next(n for n in t.node.depends_on.nodes if "daily" in n): t for t in tests}
        strength = by_daily["model.coliseum.int_artist_domain_daily"]
        fans = by_daily["model.coliseum.int_artist_domain_new_fans_daily"]
        assert (strength.status, strength.failures) == ("fail", 1)
        assert (fans.status, fans.failures) == ("pass", 0)
        [row] = failing_rows(database, strength)
        assert (str(row[0]), row[1], str(row[2])) == (artist, "T", D.isoformat())
    finally:
        with database.connect() as conn:
            conn.execute(
                "update coliseum.int_artist_domain_totals set strength = strength - 1 "
                "where entity_id = %s and domain = 'T' and activity_date = %s",
                (artist, D),
            )


def test_transactions_that_differ_from_the_staged_payments_fail_the_daily_test(database, built, tmp_path):
    # The publish check reconciles revenue against the transactions; this daily test ties those to the log.
    payment = corrupt_one_row(
        database,
        "int_treasury_transactions",
        "amount_cents = amount_cents + 1",
        "activity_date = %s and kind = 'payment'",
        "passport_entry_id",
    )
    try:
        day_vars = daily_vars(D, D + timedelta(days=1), "test", database.settings)
        [test] = dbt_test(database, "int_treasury_transactions,test_name:payments_match_staging", day_vars, tmp_path)
        assert test.status == "fail" and test.failures == 2
        assert sorted((row[0], str(row[1])) for row in failing_rows(database, test)) == [
            ("missing from the transactions", payment),
            ("not a staged payment", payment),
        ]
    finally:
        execute_plan(database.settings, PLAN[:2], D, database.instance, log=quiet)  # rebuild the day and its windows


def test_volume_drop_warns_and_still_publishes(database, built):
    before = live_publication(database)
    with database.connect() as conn:
        dropped = conn.execute(
            "delete from coliseum.coliseum_leaderboard_history where as_of_date = %s and rank > 2", (D,)
        ).rowcount
    assert dropped > 0
    try:
        run_ids = execute_plan(database.settings, PLAN[2:], D, database.instance, log=quiet)
    finally:
        execute_plan(database.settings, PLAN[1:2], D, database.instance, log=quiet)
    assert live_publication(database) > before
    evaluation = database.instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [AssetCheckKey(AssetKey(["coliseum", "publication_candidate"]), "volume_anomaly")]
    )
    record = next(iter(evaluation.values()))
    assert record.run_id in run_ids
    assert record.event.dagster_event.event_specific_data.passed is False
    assert record.event.dagster_event.event_specific_data.severity.value == "WARN"


def test_data_docs_are_kept_per_validation_served_over_http_and_open_offline(database, built):
    # The suite runs with COLISEUM_DATA_DOCS=0 (rendering costs 1-2 s per check); here the default, on.
    settings = database.settings.with_changes(data_docs=True, data_docs_url="http://127.0.0.1:0")
    server = data_docs_server(settings)  # what `coliseum ui` serves, on a free port
    settings = settings.with_changes(data_docs_url=f"http://127.0.0.1:{server.server_address[1]}")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    pages = []
    try:
        for _ in range(2):  # two publish runs: the first run's pages stay
            execute_plan(settings, PLAN[2:], D, database.instance, log=quiet)
            records = database.instance.event_log_storage.get_latest_asset_check_execution_by_key(
                [AssetCheckKey(AssetKey(["coliseum", "publication_candidate"]), "gx_leaderboard_suite")]
            )
            record = next(iter(records.values()))
            link = record.event.dagster_event.event_specific_data.metadata["data_docs"].value
            assert link.startswith(settings.data_docs_url + "/validations/coliseum_leaderboard/")
            assert f"/{record.run_id}/" in link  # the validation's run name is the Dagster run id
            pages.append(link)
        assert pages[0] != pages[1]
        for link in pages:
            with urllib.request.urlopen(link) as response:  # served over HTTP, both still there
                html = response.read().decode()
            assert response.status == 200 and "coliseum_leaderboard" in html
            # Nothing loaded from another host: stylesheets and scripts are the local copies.
            assert not re.search(r'<(link|script|img)\b[^>]*(href|src)="https?://', html)
            for asset in re.findall(r'(?:href|src)="([^"]*vendor/[^"]*)"', html):
                with urllib.request.urlopen(urllib.parse.urljoin(link, asset)) as response:
                    assert response.status == 200 and len(response.read()) > 100
    finally:
        server.shutdown()
        server.server_close()


def test_without_data_docs_a_check_still_reports_its_result(database, built):
    execute_plan(database.settings, PLAN[2:], D, database.instance, log=quiet)  # COLISEUM_DATA_DOCS=0
    records = database.instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [AssetCheckKey(AssetKey(["coliseum", "publication_candidate"]), "gx_strength_suite")]
    )
    evaluation = next(iter(records.values())).event.dagster_event.event_specific_data
    assert "data_docs" not in evaluation.metadata
    assert evaluation.passed and re.search(r": \d+ expectations? passed$", evaluation.metadata["summary"].value)
