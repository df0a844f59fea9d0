"""Revenue rules and the artist DNA metrics against hand-computed examples (README: metric definitions)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest

from dagster_project.app.runner import run_pipeline
from tests.support.database import AS_OF
from tests.support.helpers import dict_rows, follow, insert_entry, insert_profile, new_id, quiet

D = AS_OF
MIDNIGHT = datetime.combine(D, time(), tzinfo=UTC)
X, Y = new_id(), new_id()  # X: the DNA example; Y: the revenue example
U1, U2, U3, U4, U5 = (new_id() for _ in range(5))
E1 = new_id()  # a concierto event of Y


def at(days_before: int, hour: int = 12) -> datetime:
    return MIDNIGHT - timedelta(days=days_before) + timedelta(hours=hour)


def play(conn, user: str, when: datetime, genre: str | None, country: str | None, city: str | None, seconds=120):
    meta = {"duration_seconds": seconds, "progress_percentage": 50}
    meta |= {k: v for k, v in (("genre", genre), ("country", country), ("city", city)) if v}
    return insert_entry(
        conn,
        user_id=user,
        event_type="audio_play",
        event_category="player",
        created_at=when,
        artist_id=X,
        entity_type="track",
        entity_id=new_id(),
        metadata=meta,
    )


def pay(conn, user: str, when: datetime, event_type: str, cents: int, currency="USD", status="completed", **meta):
    metadata = {"amount_cents": cents, "currency": currency, "status": status, **meta}
    return insert_entry(
        conn,
        user_id=user,
        event_type=event_type,
        created_at=when,
        artist_id=Y,
        entity_type="transaction",
        metadata=metadata,
    )


@pytest.fixture(scope="module")
def built(database):
    with database.connect() as conn:
        insert_profile(conn, X, "Xavier")
        insert_profile(conn, Y, "Yolanda")
        # DNA example (artist X).
        play(conn, U1, at(1, 10), "pop", "US", "New York")
        play(conn, U1, at(0, 9), "pop", "US", "Los Angeles")
        play(conn, U2, at(0, 10), "rock", "MX", "Mexico City")
        play(conn, U2, at(2), "metal", "JP", "Tokyo", seconds=10)  # under 30 s: counts zero, tags nothing
        insert_entry(
            conn,
            user_id=U3,
            event_type="track_favorite",
            event_category="player",
            created_at=at(20),
            artist_id=X,
            entity_type="track",
            entity_id=new_id(),
            metadata={"genre": "jazz", "country": "US", "city": "New York"},
        )
        insert_entry(
            conn,
            user_id=U4,
            event_type="artist_follow",
            created_at=at(40),
            artist_id=X,
            entity_type="artist",
            entity_id=X,
            metadata={"country": "BR"},
        )
        # Revenue example (artist Y).
        p1 = pay(conn, U1, at(3), "treasury.track_purchase", 500)
        pay(conn, U2, at(1), "treasury.artist_tip", 1000)
        p3 = pay(conn, U1, at(2), "treasury.ticket_purchase", 2500, event_id=E1)
        pay(conn, U3, at(0), "treasury.onsite_purchase", 700, event_id=E1)
        p5 = pay(conn, U2, at(0, 8), "treasury.track_purchase", 300, status="pending")
        pay(conn, U3, at(1, 8), "treasury.artist_tip", 400, status="failed")
        pay(conn, U4, at(10), "treasury.track_purchase", 900, currency="EUR")
        pay(conn, U1, at(0, 13), "treasury.refund", 2500, refunded_transaction_id=p3)  # reverses P3
        pay(conn, U1, at(0, 14), "treasury.refund", 2500, refunded_transaction_id=p3)  # already refunded
        pay(conn, U2, at(0, 15), "treasury.refund", 300, refunded_transaction_id=p5)  # P5 never completed
        pay(conn, U1, at(0, 16), "treasury.refund", 500, status="pending", refunded_transaction_id=p1)
        follow(conn, Y, U5, at(0, 17))
    run_pipeline(database.settings, [D], database.instance, log=quiet)
    return database


def rows(database, statement: str, params=()) -> list[dict]:
    with database.connect() as conn:
        return dict_rows(conn, statement, params)


def test_revenue_summary_applies_the_money_rules(built):
    got = rows(
        built, 'select * from public.artist_revenue_summary where artist_id = %s order by "window", currency', (Y,)
    )
    by_key = {(r["window"], r["currency"]): r for r in got}
    assert set(by_key) == {("7d", "USD"), ("30d", "USD"), ("30d", "EUR"), ("alltime", "USD"), ("alltime", "EUR")}
    usd = by_key[("7d", "USD")]
    assert (usd["gross_cents"], usd["refunds_cents"], usd["net_cents"]) == (4700, 2500, 2200)
    assert (usd["completed_transactions"], usd["refunded_transactions"]) == (4, 1)
    assert (usd["pending_transactions"], usd["failed_transactions"], usd["excluded_transactions"]) == (1, 1, 2)
    assert usd["paying_fans"] == 3
    assert (usd["first_sale_at"], usd["last_sale_at"]) == (at(3), at(0))
    assert usd["artist_name"] == "Yolanda"
    eur = by_key[("30d", "EUR")]
    assert (eur["gross_cents"], eur["refunds_cents"], eur["net_cents"], eur["paying_fans"]) == (900, 0, 900, 1)
    assert by_key[("alltime", "USD")]["net_cents"] == 2200


def test_every_refund_has_an_outcome(built):
    got = rows(
        built,
        "select refund_outcome, reversed_cents from coliseum.int_treasury_transactions "
        "where kind = 'refund' and artist_id = %s order by created_at",
        (Y,),
    )
    assert [(r["refund_outcome"], r["reversed_cents"]) for r in got] == [
        ("reversed", 2500),
        ("already_refunded", 0),
        ("payment_not_completed", 0),
        ("refund_not_completed", 0),
    ]


def test_event_revenue_splits_ticket_and_on_site(built):
    got = rows(built, "select * from public.artist_event_revenue where artist_id = %s and \"window\" = '7d'", (Y,))
    assert len(got) == 1
    row = got[0]
    assert str(row["event_id"]) == E1 and row["currency"] == "USD"
    assert (row["ticket_cents"], row["on_site_cents"], row["gross_cents"]) == (2500, 700, 3200)
    assert (row["refunds_cents"], row["net_cents"]) == (2500, 700)
    assert (row["tickets_sold"], row["on_site_sales"], row["paying_fans"]) == (1, 1, 2)


def test_revenue_per_fan(built):
    got = rows(built, "select * from public.artist_revenue_per_fan where artist_id = %s and \"window\" = '7d'", (Y,))
    assert len(got) == 1
    row = got[0]
    # Fans with a counted event for Y in 7d: U1, U2, U3 (payments, refunds) and U5 (follow).
    assert (row["net_cents"], row["unique_fans"], row["paying_fans"]) == (2200, 4, 3)
    assert (row["net_cents_per_fan"], row["net_cents_per_paying_fan"]) == (550, 733)
    with built.connect() as conn:
        assert conn.execute("select public.coliseum_revenue_per_fan(%s, '7d', 'usd')", (Y,)).fetchone()[0] == 550
        assert conn.execute("select public.coliseum_revenue_per_fan(%s, '7d', 'GBP')", (Y,)).fetchone()[0] is None


# window -> (genre diversity, genres, repeat rate, repeat fans, unique fans, countries, cities)
DNA_EXPECTED = {
    # pop 2, rock 1: 1 - (2/3)^2 - (1/3)^2 = 4/9; U1 active on D-1 and D; U2 only on D (the short play scores 0)
    "7d": (Decimal("0.4444"), 2, Decimal("0.5000"), 1, 2, 2, 3),
    # + jazz 1 (U3, D-20): 1 - (4 + 1 + 1)/16 = 10/16
    "30d": (Decimal("0.6250"), 3, Decimal("0.3333"), 1, 3, 2, 3),
    # + U4's follow (D-40): no genre, country BR without a city
    "alltime": (Decimal("0.6250"), 3, Decimal("0.2500"), 1, 4, 3, 3),
}


@pytest.mark.parametrize("window", list(DNA_EXPECTED))
def test_dna_metrics_equal_the_hand_computed_values(built, window):
    got = rows(built, 'select * from public.coliseum_artist_dna where entity_id = %s and "window" = %s', (X, window))
    assert len(got) == 1
    row = got[0]
    assert (
        row["genre_diversity_score"],
        row["genres"],
        row["repeat_engagement_rate"],
        row["repeat_fans"],
        row["unique_fans"],
        row["geographic_reach"],
        row["cities"],
    ) == DNA_EXPECTED[window]
    with built.connect() as conn:
        wrapped = conn.execute(
            "select public.coliseum_genre_diversity_score(%(a)s, %(w)s), "
            "public.coliseum_repeat_engagement_rate(%(a)s, %(w)s), public.coliseum_geographic_reach(%(a)s, %(w)s)",
            {"a": X, "w": window},
        ).fetchone()
    expected = DNA_EXPECTED[window]
    assert wrapped == (expected[0], expected[2], expected[5])


def test_dna_metric_is_null_without_tagged_events(built):
    # Y's entries carry no genre or country: the metrics are unknown, not zero.
    got = rows(built, "select * from public.coliseum_artist_dna where entity_id = %s and \"window\" = '7d'", (Y,))
    assert (got[0]["genre_diversity_score"], got[0]["genres"], got[0]["geographic_reach"]) == (None, 0, None)


def test_get_artist_dna_is_one_document_per_artist(built):
    with built.connect() as conn:
        document = conn.execute("select public.coliseum_get_artist_dna(%s)", (X,)).fetchone()[0]
        boards = {
            (domain, window): conn.execute(
                f"select rank, score from public.coliseum_leaderboard_{domain.lower()}_{window} where entity_id = %s",
                (X,),
            ).fetchone()
            for domain in "ATGC"
            for window in ("7d", "30d", "alltime")
        }
        missing = conn.execute("select public.coliseum_get_artist_dna(%s)", (new_id(),)).fetchone()[0]
        money = conn.execute("select public.coliseum_get_artist_dna(%s)", (Y,)).fetchone()[0]
    assert missing is None
    assert document["entity_id"] == X and document["artist_name"] == "Xavier"
    assert document["as_of_date"] == D.isoformat()
    assert set(document["windows"]) == {"7d", "30d", "alltime"}
    for (domain, window), board in boards.items():
        entry = document["windows"][window][domain]
        expected = (board[0], float(board[1])) if board else (None, None)
        assert (entry["rank"], entry["strength"]) == expected
    assert document["windows"]["7d"]["A"]["genre_diversity_score"] == 0.4444
    assert document["windows"]["alltime"]["T"]["repeat_engagement_rate"] == 0.25
    assert document["windows"]["alltime"]["C"]["geographic_reach"] == 3
    # 30d: U4 (EUR purchase on D-10) is a fan too: USD 2200 / 5, EUR 900 / 5.
    assert money["windows"]["30d"]["G"]["revenue_per_fan"] == {"USD": 440, "EUR": 180}
    assert json.dumps(document)  # plain JSON for the app
