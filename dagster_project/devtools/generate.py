"""`coliseum generate`: a deterministic, realistic synthetic passport log, bulk-loaded with COPY.

Same (events, days, seed, end_date) gives byte-identical rows. Artists have Zipf-like popularity, an appeal
that differs by kind of action and drifts over time (so domains and windows have different leaders), and
genres, users a home country/city, plays carry duration and progress, treasury events carry amount,
currency and status, refunds point at a real earlier transaction, and some artists have no profile.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from dagster_project.settings import Settings

GENRES = (
    "pop",
    "rock",
    "hip-hop",
    "reggaeton",
    "jazz",
    "electronic",
    "indie",
    "r&b",
    "folk",
    "classical",
    "metal",
    "afrobeats",
)
PLACES = (
    ("US", "New York"),
    ("US", "Los Angeles"),
    ("MX", "Mexico City"),
    ("BR", "Sao Paulo"),
    ("GB", "London"),
    ("ES", "Madrid"),
    ("DE", "Berlin"),
    ("NG", "Lagos"),
    ("JP", "Tokyo"),
    ("CO", "Bogota"),
    ("FR", "Paris"),
    ("KR", "Seoul"),
    ("AR", "Buenos Aires"),
    ("CA", "Toronto"),
)
CURRENCIES = ("USD", "USD", "USD", "EUR", "MXN", "BRL", "GBP")

# event_type, event_category, entity_type, share of the log
EVENT_MIX: tuple[tuple[str, str, str | None, float], ...] = (
    ("audio_play", "player", "track", 0.50),
    ("track_complete", "player", "track", 0.10),
    ("track_skip", "player", "track", 0.07),
    ("track_favorite", "player", "track", 0.04),
    ("track_unfavorite", "player", "track", 0.006),
    ("track_share", "social", "track", 0.02),
    ("artist_follow", "social", "artist", 0.03),
    ("artist_unfollow", "social", "artist", 0.008),
    ("concierto.vote_cast", "concierto", "event", 0.03),
    ("concierto.event_attend", "concierto", "event", 0.015),
    ("treasury.track_purchase", "treasury", "transaction", 0.02),
    ("treasury.artist_tip", "treasury", "transaction", 0.012),
    ("treasury.subscription_start", "treasury", "transaction", 0.006),
    ("treasury.ticket_purchase", "treasury", "transaction", 0.01),
    ("treasury.onsite_purchase", "treasury", "transaction", 0.006),
    ("treasury.refund", "treasury", "transaction", 0.003),
    ("session_start", "system", None, 0.05),
    ("page_view", "system", None, 0.08),
    ("coliseum.leaderboard_view", "coliseum", None, 0.02),
)
TREASURY_PAID = (
    "treasury.track_purchase",
    "treasury.artist_tip",
    "treasury.subscription_start",
    "treasury.ticket_purchase",
    "treasury.onsite_purchase",
)
# Sold at a concierto event: the payment names the event (artist_event_revenue).
EVENT_SALES = ("treasury.ticket_purchase", "treasury.onsite_purchase")
TREASURY_STATUSES = ("completed",) * 17 + ("pending", "failed")

COLUMNS = (
    "id",
    "user_id",
    "session_id",
    "device_id",
    "event_type",
    "event_category",
    "entity_type",
    "entity_id",
    "metadata",
    "processed_by_mediaid",
    "processed_by_treasury",
    "processed_by_coliseum",
    "created_at",
)


@dataclass(frozen=True)
class Generated:
    events: int
    artists: int
    artists_without_profile: int
    users: int
    first_day: date
    last_day: date


def _uuids(rng: np.random.Generator, n: int) -> list[str]:
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    # The canonical text of each 16 bytes, as str(uuid.UUID(bytes=...)) gives it, without an object per id.
    hexed = raw.tobytes().hex()
    return [
        f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" for h in (hexed[i : i + 32] for i in range(0, 32 * n, 32))
    ]


def _zipf_weights(n: int, s: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


# An artist's appeal differs by kind of action (some are streamed, some tipped, some seen live: each domain
# has its own leaders) and drifts over the log (rising and fading artists: the 7-day boards differ from the
# all-time ones, and ranks move from night to night). Per category, an artist's weight blends the overall
# popularity with a popularity of that category's own (ARTIST_TASTE: the share of the latter), times a
# log-scale trend over the log (ARTIST_TREND: its spread). 0 and 0 give one order for every board.
ARTIST_TASTE = 0.95
ARTIST_TREND = 2.5
TIME_SLICES = 12
CATEGORIES = tuple(sorted({m[1] for m in EVENT_MIX}))


def _artists(
    rng: np.random.Generator,
    popularity: np.ndarray,
    taste: np.ndarray,
    trend: np.ndarray,
    kind: np.ndarray,
    position: np.ndarray,
) -> np.ndarray:
    """Each event's artist, drawn by (category, time slice): `taste` holds each category's own popularity."""
    category = np.array([CATEGORIES.index(m[1]) for m in EVENT_MIX])[kind]
    time_slice = np.minimum((position * TIME_SLICES).astype(int), TIME_SLICES - 1)
    artist = np.empty(kind.size, dtype=int)
    for c in range(len(CATEGORIES)):
        appeal = (1 - ARTIST_TASTE) * popularity + ARTIST_TASTE * taste[c]
        for t in range(TIME_SLICES):
            rows = np.flatnonzero((category == c) & (time_slice == t))
            if rows.size:
                weights = appeal * np.exp(trend * ((t + 0.5) / TIME_SLICES - 0.5))
                artist[rows] = rng.choice(popularity.size, size=rows.size, p=weights / weights.sum())
    return artist


def _esc(text: str) -> str:
    """COPY text format escaping."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def generate(
    conn: psycopg.Connection,
    settings: Settings,
    events: int,
    days: int,
    seed: int,
    end_date: date,
    chunk_rows: int = 10_000,
    population: tuple[int, int] | None = None,
    no_profile_share: float = 0.08,
) -> Generated:
    """Append `events` entries spread over the `days` UTC days ending on `end_date` (inclusive).

    `population=(seed, events)` of an earlier call reuses its artists, fans, tracks and concerts (their
    profiles already exist and are not inserted again): a new day of the same network, not a new network.
    """
    if events < 1 or days < 1:
        raise ValueError("events and days must be positive")
    rng = np.random.default_rng(seed)
    # The population is drawn first, so the same (seed, events) always gives the same ids.
    population_rng = np.random.default_rng(population[0]) if population else rng
    population_events = population[1] if population else events
    n_artists = int(min(5000, max(20, population_events // 2000)))
    n_users = int(max(50, population_events // 25))
    n_tracks = n_artists * 8
    n_concerts = max(5, n_artists // 4)

    artist_ids = _uuids(population_rng, n_artists)
    artist_users = _uuids(population_rng, n_artists)
    user_ids = _uuids(population_rng, n_users)
    track_ids = _uuids(population_rng, n_tracks)
    concert_ids = _uuids(population_rng, n_concerts)
    track_artist = population_rng.integers(0, n_artists, n_tracks)
    concert_artist = population_rng.integers(0, n_artists, n_concerts)
    artist_genre = population_rng.integers(0, len(GENRES), n_artists)
    track_genre = np.where(
        population_rng.random(n_tracks) < 0.8,
        artist_genre[track_artist],
        population_rng.integers(0, len(GENRES), n_tracks),
    )
    track_length = population_rng.integers(90, 420, n_tracks)
    user_place = population_rng.integers(0, len(PLACES), n_users)
    # By default about 8% of artists have no profile row (ranked under a fallback name, with a warning).
    has_profile = population_rng.random(n_artists) >= no_profile_share

    kinds = np.array([m[3] for m in EVENT_MIX])
    kind = rng.choice(len(EVENT_MIX), size=events, p=kinds / kinds.sum())
    # Drawn after the ids, so a network reused through `population` keeps its ids.
    zipf = _zipf_weights(n_artists, 1.07)
    taste = np.stack([zipf[population_rng.permutation(n_artists)] for _ in CATEGORIES])
    trend = population_rng.normal(0.0, ARTIST_TREND, n_artists)
    start = datetime.combine(end_date - timedelta(days=days - 1), datetime.min.time(), tzinfo=UTC)
    offset_us = np.sort(rng.integers(0, days * 86_400 * 1_000_000, events))
    # Popularity rank is shuffled so artist numbering does not give the leaderboard order away.
    popularity = zipf[rng.permutation(n_artists).argsort()]
    # Two lead roles: the most popular artist fades over the log and the runner-up rises, so the recent windows
    # get a leader of their own (the all-time boards keep the long-time favourite).
    share = np.array([sum(m[3] for m in EVENT_MIX if m[1] == c) for c in CATEGORIES], dtype=float)
    appeal = (1 - ARTIST_TASTE) * popularity + ARTIST_TASTE * (share / share.sum()) @ taste
    favourite, rising = np.argsort(-appeal, kind="stable")[:2]
    trend[favourite], trend[rising] = -ARTIST_TREND, ARTIST_TREND
    artist = _artists(rng, popularity, taste, trend, kind, offset_us / (days * 86_400 * 1_000_000))
    user = rng.choice(n_users, size=events, p=_zipf_weights(n_users, 0.6))
    # Tracks and concerts of the chosen artist (fallback: any) so metadata.artist_id is consistent.
    tracks_by_artist = [np.flatnonzero(track_artist == a) for a in range(n_artists)]
    concerts_by_artist = [np.flatnonzero(concert_artist == a) for a in range(n_artists)]
    pick = rng.random(events)
    place_roll = rng.random(events)
    dur_roll = rng.random(events)
    amount = rng.choice([99, 129, 499, 999, 1500, 2000, 5000], size=events)
    status = rng.integers(0, len(TREASURY_STATUSES), events)
    currency = rng.integers(0, len(CURRENCIES), events)
    entry_ids = _uuids(rng, events)
    other_place = rng.integers(0, len(PLACES), events)

    # Refunds reverse an earlier paid transaction of the same fan and artist.
    refund_kind = [m[0] for m in EVENT_MIX].index("treasury.refund")
    paid_kinds = [[m[0] for m in EVENT_MIX].index(t) for t in TREASURY_PAID]
    paid_rows = np.flatnonzero(np.isin(kind, paid_kinds))
    refund_of = np.full(events, -1)
    for i in np.flatnonzero(kind == refund_kind):
        earlier = paid_rows[paid_rows < i]
        if earlier.size:
            j = earlier[int(pick[i] * earlier.size)]
            refund_of[i], artist[i], user[i], amount[i], currency[i] = (
                j,
                artist[j],
                user[j],
                amount[j],
                currency[j],
            )
        else:
            kind[i] = 0  # nothing to refund yet: a play instead

    timestamps = np.datetime_as_string(
        np.datetime64(start.replace(tzinfo=None), "us") + offset_us.astype("timedelta64[us]"), unit="us"
    )
    day_index = offset_us // (86_400 * 1_000_000)

    def metadata_and_entity(i: int) -> tuple[str | None, str | None, str]:
        event_type, _category, entity_type, _share = EVENT_MIX[kind[i]]
        a = artist[i]
        country, city = PLACES[user_place[user[i]] if place_roll[i] < 0.85 else other_place[i]]
        where = f'"country": "{country}", "city": "{city}"'
        if entity_type == "track":
            own = tracks_by_artist[a]
            t = own[int(pick[i] * own.size)] if own.size else int(pick[i] * n_tracks)
            length = int(track_length[t])
            if event_type == "audio_play":
                duration = int(dur_roll[i] ** 0.7 * length)
            elif event_type == "track_skip":
                duration = int(dur_roll[i] * 25)
            else:
                duration = length
            progress = round(100.0 * duration / length, 1)
            meta = (
                f'{{"artist_id": "{artist_ids[a]}", "content_id": "{track_ids[t]}", '
                f'"genre": "{GENRES[track_genre[t]]}", "duration_seconds": {duration}, '
                f'"progress_percentage": {progress}, {where}}}'
            )
            return entity_type, track_ids[t], meta
        if entity_type == "artist":
            return entity_type, artist_ids[a], f'{{"artist_id": "{artist_ids[a]}", {where}}}'
        if entity_type == "event":
            own = concerts_by_artist[a]
            c = own[int(pick[i] * own.size)] if own.size else int(pick[i] * n_concerts)
            meta = f'{{"artist_id": "{artist_ids[a]}", "event_id": "{concert_ids[c]}", {where}}}'
            return entity_type, concert_ids[c], meta
        if entity_type == "transaction":
            txn_status = TREASURY_STATUSES[status[i]]
            extra = ""
            if refund_of[i] >= 0:
                txn_status = "completed"
                extra = f', "refunded_transaction_id": "{entry_ids[refund_of[i]]}"'
            elif event_type in EVENT_SALES:
                own = concerts_by_artist[a]
                c = own[int(pick[i] * own.size)] if own.size else int(pick[i] * n_concerts)
                extra = f', "event_id": "{concert_ids[c]}"'
            meta = (
                f'{{"artist_id": "{artist_ids[a]}", "amount_cents": {int(amount[i])}, '
                f'"currency": "{CURRENCIES[currency[i]]}", "status": "{txn_status}", '
                f'"transaction_type": "{event_type.split(".", 1)[1]}"{extra}, {where}}}'
            )
            return entity_type, entry_ids[i], meta
        return None, None, f'{{"path": "/{event_type.replace(".", "/")}", {where}}}'

    table = sql.SQL("copy {}.passport_entries ({}) from stdin").format(
        sql.Identifier(settings.source_schema), sql.SQL(", ").join(map(sql.Identifier, COLUMNS))
    )
    session_cache: dict[tuple[int, int], str] = {}
    with conn.transaction():
        # The queued writer sends each chunk from a worker thread while this one formats the next, so the
        # server ingests as the rows are built (the 200k demo rows, with the ids' text above: 4.0-4.8 -> 3.2-4.0 s).
        cursor = conn.cursor()
        with cursor.copy(table, writer=QueuedLibpqWriter(cursor)) as copy:
            lines: list[str] = []
            for i in range(events):
                event_type, category, _entity_type, _share = EVENT_MIX[kind[i]]
                entity_type, entity_id, meta = metadata_and_entity(i)
                u = int(user[i])
                key = (u, int(day_index[i]))
                session = session_cache.get(key)
                if session is None:
                    session = session_cache[key] = str(uuid.UUID(int=(seed << 64) ^ (u << 20) ^ key[1], version=4))
                lines.append(
                    "\t".join(
                        (
                            entry_ids[i],
                            user_ids[u],
                            session,
                            f"device-{u % 9973:04d}",
                            event_type,
                            category,
                            entity_type or "\\N",
                            entity_id or "\\N",
                            _esc(meta),
                            "f",
                            "f",
                            "f",
                            timestamps[i] + "+00",
                        )
                    )
                )
                if len(lines) >= chunk_rows:
                    copy.write("\n".join(lines) + "\n")
                    lines.clear()
            if lines:
                copy.write("\n".join(lines) + "\n")
        if population is None:
            profiles = sql.SQL(
                "copy {}.artist_profiles (id, user_id, artist_name, bio, verified, created_at) from stdin"
            ).format(sql.Identifier(settings.source_schema))
            with conn.cursor().copy(profiles) as copy:
                for a in range(n_artists):
                    if has_profile[a]:
                        name = f"Artist {a + 1:05d} ({GENRES[artist_genre[a]]})"
                        copy.write_row(
                            (
                                artist_ids[a],
                                artist_users[a],
                                name,
                                f"{GENRES[artist_genre[a]]} act",
                                bool(a % 5 == 0),
                                start - timedelta(days=30),
                            )
                        )
    conn.execute(sql.SQL("analyze {}.passport_entries").format(sql.Identifier(settings.source_schema)))
    return Generated(events, n_artists, int((~has_profile).sum()), n_users, start.date(), end_date)


# The columns a hand-made entry sets (the rest take their defaults): no session, no app processing flags.
ENTRY_COLUMNS = tuple(c for c in COLUMNS if c != "session_id" and not c.startswith("processed_by_"))


# The catalogue of bad input, one builder per case. Each returns (rows, expected outcome); an outcome is a
# quarantine reason code, or "exact_duplicate" for a copy that is counted once and reported.
def _bad_catalogue(
    rng: np.random.Generator, end_date: date, days: int
) -> list[tuple[str, Callable[[], tuple[list[dict], list[str | None]]]]]:
    def at() -> str:
        start = datetime.combine(end_date - timedelta(days=days - 1), datetime.min.time(), tzinfo=UTC)
        return (start + timedelta(seconds=int(rng.integers(0, days * 86_400)))).isoformat()

    def pick(options: list):
        return options[int(rng.integers(0, len(options)))]

    def uid() -> str:
        return str(uuid.UUID(bytes=rng.bytes(16), version=4))

    def row(**overrides) -> dict:
        artist = uid()
        base = {
            "id": uid(),
            "user_id": uid(),
            "event_type": "artist_follow",
            "event_category": "social",
            "entity_type": "artist",
            "entity_id": artist,
            "metadata": json.dumps({"artist_id": artist}),
            "created_at": at(),
            "device_id": "device-bad",
        }
        base.update(overrides)
        return base

    def paid(event_type="treasury.artist_tip", **meta) -> dict:
        fields = {"artist_id": uid(), "amount_cents": 500, "currency": "USD", "status": "completed"}
        fields.update(meta)
        return row(
            event_type=event_type,
            event_category="treasury",
            entity_type="transaction",
            entity_id=uid(),
            metadata=json.dumps(fields),
        )

    def conflicting():
        first = row()
        return [first, {**first, "device_id": "device-other"}], ["conflicting_duplicate_id"] * 2

    def exact_duplicate():
        first = row()
        return [first, dict(first)], [None, "exact_duplicate"]

    def play(**meta) -> dict:
        fields = {"artist_id": uid(), "duration_seconds": 120, "progress_percentage": 50}
        fields.update(meta)
        return row(
            event_type="audio_play",
            event_category="player",
            entity_type="track",
            entity_id=uid(),
            metadata=json.dumps(fields),
        )

    one = {
        "missing_id": lambda: row(id=None),
        "missing_user_id": lambda: row(user_id=None),
        "unknown_event_type": lambda: row(event_type=pick(["made.up_event", None])),
        "category_mismatch": lambda: row(event_category="treasury"),
        "invalid_artist": lambda: row(entity_id=pick(["not-a-uuid", None])),
        "missing_created_at": lambda: row(created_at=None),
        "invalid_created_at": lambda: row(created_at=pick(["infinity", "10000-01-01T00:00:00+00:00"])),
        "before_platform_start": lambda: row(created_at=pick(["2019-06-01T12:00:00+00:00", "-infinity"])),
        "metadata_not_object": lambda: row(entity_type="artist", metadata=pick(["[1, 2]", '"text"', "42"])),
        "invalid_duration": lambda: play(duration_seconds=pick([-5, "ninety"])),
        "invalid_progress": lambda: play(progress_percentage=pick([150, -1, "half"])),
        "invalid_amount": lambda: paid(amount_cents=pick([-100, 12.5, 10**12, "lots"])),
        "unknown_currency": lambda: paid(currency="XYZ"),
        "invalid_status": lambda: paid(status="stolen"),
        "refund_of_unknown_transaction": lambda: paid("treasury.refund", refunded_transaction_id=uid()),
        "invalid_event_id": lambda: paid("treasury.ticket_purchase", event_id=pick(["stage-left", None])),
        # Limits are bytes: 5,000 two-byte characters, or a genre too long for a btree index key.
        "oversized_text": lambda: pick(
            [row(device_id="\u00e9" * 5000), play(genre="g" * 3000), row(device_id="d" * 257)]
        ),
        "control_characters": lambda: row(device_id="device\x07bell"),
    }
    catalogue = [(reason, (lambda b=builder, r=reason: ([b()], [r]))) for reason, builder in one.items()]
    return [*catalogue, ("conflicting_duplicate_id", conflicting), ("exact_duplicate", exact_duplicate)]


def generate_bad_rows(
    conn: psycopg.Connection, settings: Settings, n: int, seed: int, end_date: date, days: int
) -> dict[str, int]:
    """Append about n malformed rows cycling through the catalogue; returns the expected outcome counts."""
    rng = np.random.default_rng(seed + 1_000_003)
    catalogue = _bad_catalogue(rng, end_date, days)
    rows: list[dict] = []
    expected: dict[str, int] = {}
    i = 0
    while len(rows) < n:
        _name, build = catalogue[i % len(catalogue)]
        new_rows, outcomes = build()
        rows += new_rows
        for outcome in outcomes:
            if outcome:
                expected[outcome] = expected.get(outcome, 0) + 1
        i += 1
    columns = ENTRY_COLUMNS
    statement = sql.SQL("copy {}.passport_entries ({}) from stdin").format(
        sql.Identifier(settings.source_schema), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.transaction(), conn.cursor().copy(statement) as copy:
        for r in rows:
            copy.write_row(tuple(r.get(c) for c in columns))
    return expected
