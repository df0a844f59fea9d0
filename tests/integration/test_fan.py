"""The fan side (README, "User DNA and the DIA marts"): the user DNA against a hand computation (decay across
inactive days, a late event), a late day that rebuilds only its own users, every mart against an independent
pandas computation from the raw log, the nights equal to a full rebuild, and a broken running sum caught by its
blocking dbt test."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from dagster_project.defs.dbt.vars import daily_vars
from dagster_project.devtools.generate import generate
from tests.support import fan_oracle as oracle
from tests.support.database import AS_OF
from tests.support.helpers import dbt_test, dict_rows, failing_rows
from tests.support.scenario import Log, assert_equals_full_rebuild, at, run_night

N1, N2 = AS_OF - timedelta(days=1), AS_OF
D0 = AS_OF - timedelta(days=12)  # the hand user's first day, long before the generated days
HAND = str(uuid.UUID(int=4242))
HALF_LIFE = 30.0
ALPHA = 1 - 2 ** (-1 / HALF_LIFE)
FOLLOW = (1.2, 0.9, 0.45, 0.45)  # artist_follow: base 3 x (0.40, 0.30, 0.15, 0.15)
PLAY = (0.4, 0.3, 0.15, 0.15)  # audio_play of 30 s or more: base 1 x the same weights


def hand_ema(days: dict, as_of) -> list[float]:
    """By hand: alpha x sum over active days t of 2^(-(D - t) / 30) x influence_t, per domain."""
    return [ALPHA * sum(x[i] * 2 ** (-(as_of - t).days / HALF_LIFE) for t, x in days.items()) for i in range(4)]


def fetch(database, statement: str, params: tuple = ()) -> list[dict]:
    with database.connect() as conn:
        return dict_rows(conn, statement, params)


def dna_row(database, user: str) -> dict:
    [row] = fetch(database, "select * from public.coliseum_user_dna where user_id = %s", (user,))
    return row


@pytest.fixture(scope="module")
def fan(database):
    log = Log(database.url)
    artist = log.artists[0]
    seen: dict = {}
    with database.connect() as conn:
        generate(conn, database.settings, events=3000, days=5, seed=23, end_date=N1)
    log.follow(D0, artist=artist, user=HAND, hour=9)

    def hand_play(hour: int, seconds: int, progress: float, track: str) -> dict:
        return log.entry("audio_play", at(D0 + timedelta(days=3), hour), artist, HAND, duration_seconds=seconds,
                         progress_percentage=progress, genre="jazz", content_id=track)  # fmt: skip

    # the second is under the 30 s minimum: a valid entry that moves nothing, so it is not counted
    play = log.insert(hand_play(20, 120, 50.0, "track-1"), hand_play(21, 10, 4.0, "track-2"))[0]
    run_night(database, N1)
    seen["night_1"] = dna_row(database, HAND)
    seen["play"] = play
    # Night 2: a late follow of the hand user (dated D0 + 1, long published) and a new day of one generated user.
    with database.connect() as conn:
        seen["totals_before"] = dict(
            conn.execute("select (user_id, activity_date)::text, xmin::text from coliseum.int_user_dna_totals")
        )
        [active] = conn.execute(
            "select user_id::text from coliseum.int_user_entries group by 1 order by count(*) desc limit 1"
        ).fetchone()
    log.follow(D0 + timedelta(days=1), artist=artist, user=HAND, hour=10)
    log.follow(N2, artist=log.artists[1], user=active, hour=7)
    seen["active"] = active
    run_night(database, N2)
    assert_equals_full_rebuild(database)
    with database.connect() as conn:
        seen["totals_after"] = dict(
            conn.execute("select (user_id, activity_date)::text, xmin::text from coliseum.int_user_dna_totals")
        )
    return seen


def test_user_dna_is_the_ema_computed_by_hand_with_decay_across_inactive_days(database, fan):
    row = fan["night_1"]
    expected = hand_ema({D0: FOLLOW, D0 + timedelta(days=3): PLAY}, N1)
    assert [float(row[f"dna_{d}"]) for d in "atgc"] == pytest.approx(expected, abs=1e-6)
    # Every event weighs the domains 0.40/0.30/0.15/0.15, so the shares are exactly those.
    assert [str(row[f"share_{d}"]) for d in "atgc"] == ["0.400000", "0.300000", "0.150000", "0.150000"]
    assert row["events_counted"] == 2  # the 10 s play is valid and moves nothing
    assert row["last_active_date"] == D0 + timedelta(days=3) and row["as_of_date"] == N1
    assert row["last_event_at"].isoformat() == fan["play"]["created_at"]
    # Worked example of the README: a lone follow, 30 days later, is half of its first day's DNA.
    assert pytest.approx(0.027408, abs=1e-6) == ALPHA * 1.2


def test_a_late_event_recomputes_the_user_from_its_day_on(database, fan):
    late = D0 + timedelta(days=1)
    days = {D0: FOLLOW, late: FOLLOW, D0 + timedelta(days=3): PLAY}
    row = dna_row(database, HAND)
    assert [float(row[f"dna_{d}"]) for d in "atgc"] == pytest.approx(hand_ema(days, N2), abs=1e-6)
    assert row["events_counted"] == 3 and row["as_of_date"] == N2
    history = database.query(
        "select activity_date, dna_a, events_counted from public.coliseum_user_dna_history where user_id = %s "
        "order by activity_date",
        (HAND,),
    )
    assert [(d, n) for d, _a, n in history] == [(D0, 1), (late, 2), (D0 + timedelta(days=3), 3)]
    for day, dna_a, _n in history:
        assert float(dna_a) == pytest.approx(hand_ema({t: x for t, x in days.items() if t <= day}, day)[0], abs=1e-6)


def test_a_late_day_rewrites_only_its_own_users_totals(fan):
    before, after = fan["totals_before"], fan["totals_after"]
    rewritten = {key for key, xmin in after.items() if before.get(key) != xmin}
    users = {key.strip("()").split(",")[0] for key in rewritten}
    assert users == {HAND, fan["active"]}
    assert len(after) > len(rewritten) + 100  # the other users' rows were not touched


def assert_rows_equal(rows: list[dict], expected: dict, key) -> None:
    """Each row equals its reference row on the reference's columns (numerics compared as the floats it holds)."""
    for row in rows:
        want = expected[key(row)]
        got = {k: float(row[k]) if isinstance(row[k], Decimal) else row[k] for k in want}
        assert got == want


@pytest.fixture(scope="module")
def reference(database, fan):
    with database.connect() as conn:
        return oracle.counted_entries(conn, N2)


def test_the_first_publish_bulk_loads_the_copies_and_keeps_their_indexes(database, fan):
    """The first publish filled empty copies with their indexes dropped and rebuilt (publication._insert_copy):
    every index the migrations create is there again, with its definition (test_entitlements checks that the
    timeline read uses the user index)."""
    with database.connect() as conn:
        indexes = dict(
            conn.execute(
                "select indexname, indexdef from pg_indexes where schemaname = 'coliseum' and tablename in "
                "('coliseum_published_mutations', 'coliseum_published_user_entries', 'coliseum_published_user_dna')"
            ).fetchall()
        )
    assert {name: definition.split(" USING btree ")[1] for name, definition in indexes.items()} == {
        "coliseum_published_mutations_day_idx": "(activity_date)",
        "coliseum_published_mutations_entity_idx": "(entity_id)",
        "coliseum_published_user_entries_day_idx": "(activity_date)",
        "coliseum_published_user_entries_user_idx": "(user_id, created_at DESC)",
        "coliseum_published_user_dna_day_idx": "(activity_date)",
        "coliseum_published_user_dna_key_idx": "(user_id, activity_date)",
        "coliseum_published_user_dna_valid_until_idx": "(valid_until)",
    }
    assert indexes["coliseum_published_user_dna_key_idx"].startswith("CREATE UNIQUE INDEX")


def test_user_dna_equals_the_reference(database, reference):
    expected = oracle.user_dna(reference, N2, oracle.half_life_days())
    rows = fetch(database, "select * from public.coliseum_user_dna")
    assert {str(r["user_id"]) for r in rows} == set(expected)
    for row in rows:
        want = expected[str(row["user_id"])]
        assert all(oracle.close(row[f"dna_{d}"], want[f"dna_{d}"]) for d in "atgc"), (row, want)
        assert (row["events_counted"], row["last_event_at"]) == (want["events_counted"], want["last_event_at"])
        shares = [row[f"share_{d}"] for d in "atgc"]
        assert shares[0] is None or abs(sum(shares) - 1) <= 2e-6


def test_sessions_equal_the_reference(database, reference):
    expected = oracle.sessions(reference)
    rows = fetch(database, "select * from public.dia_sessions")
    assert len(rows) == len(expected) and any(r["tracks_played"] > 2 for r in rows)
    assert_rows_equal(rows, expected, lambda row: (str(row["user_id"]), row["session_id"]))


def test_artist_affinity_equals_the_reference(database, reference):
    expected = oracle.artist_affinity(reference)
    rows = fetch(database, "select * from public.dia_artist_affinity")
    assert len(rows) == len(expected)
    assert any(r["has_favorited"] for r in rows) and any(r["has_unfavorited_since"] for r in rows)
    assert_rows_equal(rows, expected, lambda row: (str(row["user_id"]), str(row["artist_id"])))


def test_influence_summary_sums_the_effective_deltas(database, reference):
    expected = oracle.influence_summary(reference)
    rows = fetch(database, "select * from public.dia_influence_summary")
    assert len(rows) == len(expected)
    for row in rows:
        want = expected[(str(row["user_id"]), row["interaction_type"])]
        for key, value in want.items():
            assert oracle.close(row[key], value) if key.startswith("total") else row[key] == value, (key, row)
        assert oracle.close(row["total_influence"], sum(want[f"total_influence_{d}"] for d in "atgc"))
    [play] = [r for r in rows if str(r["user_id"]) == HAND and r["interaction_type"] == "audio_play"]
    # one counted play: 1 x its weights, not occurrences x base_intensity (the 10 s play is not counted)
    assert play["occurrence_count"] == 1 and play["weight_version"] == "v1" and play["total_influence"] == 1


def test_user_matrix_and_timeline_equal_the_reference(database, reference):
    spend = oracle.net_spend(reference)
    dna = {str(r["user_id"]): r for r in fetch(database, "select * from public.coliseum_user_dna")}
    rows = fetch(database, "select * from public.dia_user_matrix")
    assert len(rows) == reference.user_id.nunique()
    for row in rows:
        user = str(row["user_id"])
        mine = reference[reference.user_id == user]
        counts = mine.category.value_counts()
        assert row["listening_count"] == counts.get("listening", 0)
        assert row["vote_count"] == counts.get("voting", 0)
        assert row["purchase_count"] == counts.get("purchase", 0)
        assert row["sessions"] == mine.session_id.nunique()
        assert (row["first_seen_at"], row["last_seen_at"]) == (mine.created_at.min(), mine.created_at.max())
        assert row["net_spend_cents"] == spend.get(user, {})
        assert [row[f"dna_{d}"] for d in "atgc"] == [dna[user][f"dna_{d}"] for d in "atgc"]
    assert any(row["net_spend_cents"] for row in rows)
    timeline = database.query(
        "select user_id::text, passport_entry_id::text, influence_a + influence_t + influence_g + influence_c "
        "from public.dia_interaction_timeline"
    )
    want = {(r.user_id, r.id): sum(getattr(r, f"delta_{d}") for d in "atgc") for r in reference.itertuples()}
    assert {(u, e): pytest.approx(float(s)) for u, e, s in timeline} == want


def test_a_broken_running_sum_fails_its_blocking_dbt_test(database, fan, tmp_path):
    with database.connect() as conn:
        conn.execute(
            "update coliseum.int_user_dna_totals set influence_a = influence_a + 1 "
            "where user_id = %s and activity_date = %s",
            (fan["active"], N2),
        )
    try:
        run_values = daily_vars(N2, N2 + timedelta(days=1), "test", database.settings)
        [test] = dbt_test(database, "int_user_dna_totals,test_name:user_dna_increments", run_values, tmp_path)
        assert test.status == "fail" and test.failures == 1
        [row] = failing_rows(database, test)
        assert (str(row[0]), row[1]) == (fan["active"], N2)
    finally:
        with database.connect() as conn:
            conn.execute(
                "update coliseum.int_user_dna_totals set influence_a = influence_a - 1 "
                "where user_id = %s and activity_date = %s",
                (fan["active"], N2),
            )
