"""The twelve published leaderboards equal an independent pandas computation, edges included."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest

from dagster_project.app.runner import run_pipeline
from dagster_project.contract import BOARDS, board_name
from dagster_project.devtools.generate import generate
from tests.support import oracle
from tests.support.database import AS_OF
from tests.support.helpers import dict_rows, follow, insert_entry, insert_profile, new_id

D = AS_OF
MIDNIGHT = datetime.combine(D, time(), tzinfo=UTC)

EDGE, GHOST, FICKLE, REFUNDED = (new_id() for _ in range(4))
U1, U2, U3 = (new_id() for _ in range(3))


@pytest.fixture(scope="module")
def built(database):
    with database.connect() as conn:
        # Data runs through D+1: that day must never count for as-of date D.
        generate(conn, database.settings, events=4000, days=40, seed=11, end_date=D + timedelta(days=1))
        insert_profile(conn, EDGE, "Edge Artist")
        insert_profile(conn, FICKLE, "Fickle Artist")
        insert_profile(conn, REFUNDED, "Refunded Artist")
        follow(conn, EDGE, U1, MIDNIGHT - timedelta(days=6))  # D-6 00:00: first instant of 7d
        follow(conn, EDGE, U2, MIDNIGHT - timedelta(days=6, microseconds=1))  # D-7 23:59:59.999999
        follow(conn, EDGE, U3, MIDNIGHT + timedelta(days=1))  # D+1 00:00: outside every window of D
        follow(conn, GHOST, U1, MIDNIGHT + timedelta(hours=3))  # GHOST has no profile row
        follow(conn, GHOST, U2, MIDNIGHT + timedelta(hours=4))
        follow(conn, FICKLE, U1, MIDNIGHT - timedelta(hours=20))
        follow(conn, FICKLE, U2, MIDNIGHT - timedelta(hours=19))
        follow(conn, FICKLE, U1, MIDNIGHT + timedelta(hours=1), unfollow=True)

        def treasury(event_type: str, days_before: int, **metadata) -> str:
            return insert_entry(
                conn, user_id=U1, event_type=event_type, created_at=MIDNIGHT - timedelta(days=days_before),
                artist_id=REFUNDED, entity_type="transaction",
                metadata={"amount_cents": 500, "currency": "USD", "status": "completed", **metadata},
            )  # fmt: skip

        purchase = treasury("treasury.track_purchase", 2)
        treasury("treasury.refund", 1, refunded_transaction_id=purchase)
    summary = run_pipeline(database.settings, [D - timedelta(days=1), D], database.instance)
    with database.connect() as conn:
        entries = oracle.load_entries(conn)
        profiles = oracle.load_profiles(conn)
    return summary, oracle.mutations(entries, oracle.load_weights()), profiles


def published(database, name: str) -> list[dict]:
    with database.connect() as conn:
        return dict_rows(conn, f"select * from public.{name}")


def board_row(database, domain: str, window: str, entity_id: str) -> dict | None:
    rows = [r for r in published(database, board_name(domain, window)) if str(r["entity_id"]) == entity_id]
    return rows[0] if rows else None


@pytest.mark.parametrize(("domain", "window"), BOARDS)
def test_board_equals_reference(database, built, domain, window):
    _summary, muts, profiles = built
    expected = oracle.board(muts, profiles, D, window, domain)
    actual = published(database, board_name(domain, window))
    assert expected, "the reference board is empty: the test would prove nothing"
    assert [{k: (str(r[k]) if k == "entity_id" else r[k]) for k in expected[0]} for r in actual] == expected
    assert {r["as_of_date"] for r in actual} == {D}


@pytest.mark.parametrize(("domain", "window"), BOARDS)
def test_previous_rank_is_rank_on_the_day_before(database, built, domain, window):
    _summary, muts, profiles = built
    before = {r["entity_id"]: r["rank"] for r in oracle.board(muts, profiles, D - timedelta(days=1), window, domain)}
    for row in published(database, board_name(domain, window)):
        previous = before.get(str(row["entity_id"]))
        assert row["previous_rank"] == previous
        assert row["rank_change"] == (None if previous is None else previous - row["rank"])


def test_window_edges(database, built):
    seven = board_row(database, "A", "7d", EDGE)
    thirty = board_row(database, "A", "30d", EDGE)
    alltime = board_row(database, "A", "alltime", EDGE)
    # artist_follow: base 3.00 x A weight 0.40 = 1.2 per follow.
    assert (seven["score"], seven["event_count"], seven["unique_fans"]) == (Decimal("1.2"), 1, 1)
    assert (thirty["score"], thirty["event_count"], thirty["unique_fans"]) == (Decimal("2.4"), 2, 2)
    assert (alltime["score"], alltime["event_count"]) == (Decimal("2.4"), 2)
    assert seven["artist_name"] == "Edge Artist"


def test_artist_without_profile_is_ranked(database, built):
    row = board_row(database, "A", "7d", GHOST)
    assert row is not None
    assert row["artist_name"] == f"Unknown artist {GHOST[:8]}"
    assert (row["score"], row["event_count"], row["unique_fans"]) == (Decimal("2.4"), 2, 2)


def test_unfollow_and_refund_lower_scores(database, built):
    fickle = board_row(database, "A", "7d", FICKLE)
    assert (fickle["score"], fickle["event_count"], fickle["unique_fans"]) == (Decimal("1.2"), 3, 2)
    refunded_g = board_row(database, "G", "7d", REFUNDED)
    refunded_a = board_row(database, "A", "7d", REFUNDED)
    # purchase (+3.00 x 0.90) then its refund (-3.00 x 0.90): still ranked, at exactly zero.
    assert (refunded_g["score"], refunded_g["event_count"]) == (Decimal("0"), 2)
    assert refunded_a["score"] == Decimal("0")


def test_counts_reconcile(database, built):
    summary, muts, _profiles = built
    end = datetime.combine(D + timedelta(days=1), time(), tzinfo=UTC)
    counted = muts[muts.created_at < end]
    with database.connect() as conn:
        mutations = conn.execute("select count(*) from coliseum.coliseum_dna_mutations").fetchone()[0]
        per_domain = dict(
            conn.execute(
                "select domain, sum(event_count) from public.coliseum_domain_strength "
                "where \"window\" = 'alltime' group by domain"
            ).fetchall()
        )
        read = conn.execute("select count(*) from public.passport_entries where created_at < %s", (end,)).fetchone()[0]
        unmarked = conn.execute(
            "select count(*) filter (where created_at < %(e)s and coliseum_processed_at is null), "
            "count(*) filter (where created_at >= %(e)s and coliseum_processed_at is not null) "
            "from public.passport_entries",
            {"e": end},
        ).fetchone()
    assert mutations == len(counted) == summary.mutations_written
    assert per_domain == counted.groupby("domain").size().to_dict()
    assert summary.entries_read == read
    assert unmarked == (0, 0), "every entry up to D is marked processed, none after"
