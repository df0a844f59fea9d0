"""The differential test, the core of the suite: generated arrival sequences run night by night through the
real pipeline (Postgres, dbt, Dagster runs, GX), each night possibly first killed partway, must publish exactly
what a full rebuild of the same log publishes, and count every entry once, quarantine it once, or leave it
not yet due (DESIGN.md, "The trust invariant").

Profiles (README, "Tests"): CI runs a bounded, deterministic one (COLISEUM_DIFFERENTIAL_EXAMPLES, default 2
examples of up to 3 nights); `COLISEUM_DIFFERENTIAL_EXAMPLES=25 COLISEUM_DIFFERENTIAL_DEEP=1 pytest
tests/test_differential.py` explores more, at random, and shrinks a failure to a minimal sequence."""

from __future__ import annotations

import json
import os
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from dagster import DagsterInstance
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dagster_project.db.migrations import init_db
from dagster_project.devtools.generate import generate
from tests.support.database import AS_OF, TestDatabase, create_database, drop_database, settings_for
from tests.support.scenario import INTERRUPTIONS, Log, assert_each_entry_once, assert_equals_full_rebuild, at, run_night

DEEP = os.environ.get("COLISEUM_DIFFERENTIAL_DEEP") == "1"
EXAMPLES = int(os.environ.get("COLISEUM_DIFFERENTIAL_EXAMPLES", "2"))
FIRST_NIGHT = AS_OF - timedelta(days=2)

KINDS = (
    "follow",
    "play",
    "payment",
    "refund",
    "missing_payment",
    "exact_copy",
    "conflict",
    "spelling",
    "future",
    "poison",
)
POISON = {
    "huge_genre": lambda log, day: log.entry("artist_follow", at(day, 7), genre="g" * 3000),
    "emoji_bytes": lambda log, day: log.entry("artist_follow", at(day, 7), note="\U0001f3b5" * 4500),
    "minus_infinity": lambda log, day: log.entry("artist_follow", "-infinity"),
    "infinity": lambda log, day: log.entry("artist_follow", "infinity"),
    "bc": lambda log, day: log.entry("artist_follow", "0044-03-15 BC"),
    "no_id": lambda log, day: {**log.entry("artist_follow", at(day, 7)), "id": None},
    "no_time": lambda log, day: log.entry("artist_follow", None),
    "sql_text": lambda log, day: log.entry("artist_follow", at(day, 7), genre="Union Select Hall; --"),
}


def arrive(data: st.DataObject, log: Log, night: date, state: dict) -> None:
    """One arrival: drawn from the kinds above, referring to what the log already holds."""
    kind = data.draw(st.sampled_from(KINDS), label="kind")
    day = night - timedelta(days=data.draw(st.integers(0, 3), label="days late"))
    hour = data.draw(st.integers(0, 23), label="hour")
    artist = data.draw(st.sampled_from(log.artists), label="artist")
    user = data.draw(st.sampled_from(log.users), label="user")
    if kind == "follow":
        log.insert(
            log.entry(data.draw(st.sampled_from(["artist_follow", "artist_unfollow"])), at(day, hour), artist, user)
        )
    elif kind == "play":
        seconds = data.draw(st.sampled_from([10, 45, 200]), label="seconds")
        log.insert(log.entry("audio_play", at(day, hour), artist, user, duration_seconds=seconds, genre="pop"))
    elif kind == "payment":
        state["payments"].append(
            log.payment(
                day,
                data.draw(st.sampled_from([300, 700])),
                data.draw(st.sampled_from(["USD", "EUR"])),
                data.draw(st.sampled_from(["completed", "pending"])),
                artist,
                hour,
            )
        )
    elif kind == "refund":
        unknown = not state["payments"] or data.draw(st.booleans(), label="payment arrives later")
        if unknown:
            payment_id = str(uuid.uuid4())
            state["missing"].append((payment_id, day))
        else:
            payment_id = data.draw(st.sampled_from(state["payments"]), label="payment")["id"]
        log.refund(
            day,
            payment_id,
            data.draw(st.sampled_from([300, 700, 900])),
            data.draw(st.sampled_from(["USD", "EUR"])),
            data.draw(st.sampled_from(["completed", "pending"])),
            hour,
            artist,
        )
    elif kind == "missing_payment" and state["missing"]:
        payment_id, refund_day = state["missing"].pop(0)
        paid_day = refund_day - timedelta(days=data.draw(st.integers(-1, 2), label="paid before refund"))
        state["payments"].append(log.payment(paid_day, 700, "USD", "completed", artist, hour, entry_id=payment_id))
    elif kind in ("exact_copy", "conflict", "spelling") and log.rows:
        original = data.draw(st.sampled_from([r for r in log.rows if r["id"]]), label="original")
        if kind == "exact_copy":
            log.insert(dict(original))
        elif kind == "conflict":
            log.insert({**original, "created_at": at(day, hour), "device_id": "device-conflict"})
        else:  # the same values spelled differently: 100 and 100.0 are one jsonb value
            metadata = json.loads(original["metadata"] or "{}")
            spelled = (
                json.dumps({**metadata, "amount_cents": float(metadata["amount_cents"])})
                if ("amount_cents" in metadata)
                else json.dumps(metadata, indent=1)
            )
            log.insert({**original, "metadata": spelled})
    elif kind == "future":
        ahead = night + timedelta(days=data.draw(st.integers(1, 3), label="days ahead"))
        log.insert(log.entry("artist_follow", at(ahead, hour), artist, user))
    elif kind == "poison":
        log.insert(POISON[data.draw(st.sampled_from(sorted(POISON)), label="poison")](log, day))


@pytest.fixture
def fresh(admin_url, tmp_path_factory):
    """Opens a new database (and a home folder) for each example; drops them all at the end."""
    opened: list[str] = []

    def open_database() -> tuple[str, Path]:
        opened.append(create_database(admin_url))
        return opened[-1], tmp_path_factory.mktemp("differential")

    yield open_database
    for url in opened:
        drop_database(admin_url, url)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not DEEP,
    database=None if not DEEP else settings.default.database,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, *([Phase.shrink] if DEEP else [])],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_night_by_night_equals_a_full_rebuild(fresh, data):
    url, home = fresh()
    with DagsterInstance.ephemeral() as instance:
        database = TestDatabase(url, settings_for(url, home), instance, home)
        init_db(url, database.settings)
        with database.connect() as conn:  # a small network's history, so boards have ranks and ties
            generate(
                conn,
                database.settings,
                events=300,
                days=3,
                seed=data.draw(st.integers(0, 99)),
                end_date=FIRST_NIGHT - timedelta(days=1),
            )
        log = Log(url)
        state: dict = {"payments": [], "missing": []}
        nights = data.draw(st.integers(2, 3), label="nights")
        for n in range(nights):
            night = FIRST_NIGHT + timedelta(days=n)
            for _ in range(data.draw(st.integers(2, 10), label="arrivals")):
                arrive(data, log, night, state)
            interrupt = data.draw(st.sampled_from([None, *INTERRUPTIONS]), label="interruption")
            run_night(database, night, interrupt, instance)
            assert_equals_full_rebuild(database)
            assert_each_entry_once(database, night)
