"""An independent reference computation of the fan side (user DNA, DIA marts), in pandas, from passport_entries,
the weights CSV and the half-life seed. It shares no SQL with the pipeline (README, "User DNA and the DIA marts").
Meant for logs of valid entries (the generator's clean log): validation is the quarantine tests' subject."""

from __future__ import annotations

import csv
import json
import math
from datetime import UTC, date
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import psycopg

from dagster_project.settings import DBT_PROJECT_DIR
from tests.support.oracle import load_weights, mutations

DOMAINS = ("a", "t", "g", "c")
CATEGORY = {"audio_play": "listening", "concierto.vote_cast": "voting", "concierto.event_attend": "attendance",
            "treasury.refund": "refund"}  # fmt: skip


def mean_2dp(values: pd.Series) -> float | None:
    """The mean rounded as SQL rounds numerics: exact, half away from zero."""
    if not len(values):
        return None
    mean = sum((Decimal(str(v)) for v in values), Decimal(0)) / len(values)
    return float(mean.quantize(Decimal("0.01"), ROUND_HALF_UP))


def half_life_days() -> float:
    with open(DBT_PROJECT_DIR / "seeds" / "user_dna_parameters.csv", newline="") as handle:
        return float(next(csv.DictReader(handle))["half_life_days"])


def ema(daily: dict[date, float], as_of: date, half_life: float) -> float:
    """EMA of a daily series (0 on days without entries) as of `as_of`: alpha x sum of 2^(-(D - t)/h) x_t."""
    alpha = 1 - 2 ** (-1 / half_life)
    return alpha * sum(x * 2 ** (-(as_of - day).days / half_life) for day, x in daily.items() if day <= as_of)


def category(event_type: str) -> str:
    if event_type in CATEGORY:
        return CATEGORY[event_type]
    return "purchase" if event_type.startswith("treasury.") else "engagement"


def counted_entries(conn: psycopg.Connection, as_of: date) -> pd.DataFrame:
    """One row per counted entry (at least one non-zero delta) up to `as_of`, with its metadata and deltas."""
    raw = pd.DataFrame(
        conn.execute(
            "select id::text, user_id::text, session_id::text, event_type, entity_type, entity_id::text, "
            "metadata::text, created_at from public.passport_entries"
        ).fetchall(),
        columns=["id", "user_id", "session_id", "event_type", "entity_type", "entity_id", "metadata", "created_at"],
    )
    muts = mutations(raw, load_weights())
    deltas = muts.pivot_table(index="entry_id", columns="domain", values="delta", aggfunc="sum", fill_value=0)
    raw = raw[raw.id.isin(deltas.index)].copy()
    raw["day"] = raw.created_at.map(lambda t: t.astimezone(UTC).date())
    raw = raw[raw.day <= as_of]
    meta = raw.metadata.map(json.loads)
    raw["artist_id"] = [
        e if t == "artist" else m.get("artist_id") for e, t, m in zip(raw.entity_id, raw.entity_type, meta, strict=True)
    ]
    raw["content_id"] = [
        e if t == "track" else m.get("content_id") for e, t, m in zip(raw.entity_id, raw.entity_type, meta, strict=True)
    ]
    for key in ("genre", "duration_seconds", "progress_percentage", "amount_cents", "currency", "status",
                "refunded_transaction_id"):  # fmt: skip
        raw[key] = meta.map(lambda m, k=key: m.get(k))
    raw["genre"] = raw.genre.map(lambda g: g.strip().lower() if isinstance(g, str) else None)
    raw["category"] = raw.event_type.map(category)
    for d in DOMAINS:
        raw[f"delta_{d}"] = raw.id.map(lambda i, d=d: float(deltas.loc[i].get(d.upper(), 0)))
    return raw


def user_dna(entries: pd.DataFrame, as_of: date, half_life: float) -> dict[str, dict]:
    """Per user: the four EMAs as of `as_of`, events counted and the last event."""
    out = {}
    for user, rows in entries.groupby("user_id"):
        daily = rows.groupby("day")[[f"delta_{d}" for d in DOMAINS]].sum()
        out[user] = {
            **{f"dna_{d}": ema(daily[f"delta_{d}"].to_dict(), as_of, half_life) for d in DOMAINS},
            "events_counted": len(rows),
            "last_event_at": rows.created_at.max(),
        }
    return out


def sessions(entries: pd.DataFrame) -> dict[tuple[str, str], dict]:
    plays = entries[(entries.category == "listening") & entries.session_id.notna()]
    out = {}
    for (user, session), rows in plays.groupby(["user_id", "session_id"]):
        genres = rows.genre.dropna().value_counts()
        dominant = sorted(genres[genres == genres.max()].index)[0] if len(genres) else None
        start, end = rows.created_at.min(), rows.created_at.max()
        out[(user, session)] = {
            "tracks_played": len(rows),
            "unique_tracks": rows.content_id.nunique(),
            "session_start": start,
            "session_end": end,
            "session_duration_seconds": (end - start).total_seconds(),
            "avg_completion_rate": mean_2dp(rows.progress_percentage),
            "dominant_genre": dominant,
        }
    return out


def artist_affinity(entries: pd.DataFrame) -> dict[tuple[str, str], dict]:
    player = entries[entries.event_type.isin(
        ["audio_play", "track_complete", "track_skip", "track_favorite", "track_unfavorite"]
    )]  # fmt: skip
    out = {}
    for (user, artist), rows in player.groupby(["user_id", "artist_id"]):
        plays = rows[rows.category == "listening"]
        marks = rows[rows.event_type.isin(["track_favorite", "track_unfavorite"])].sort_values(["created_at", "id"])
        latest = marks.event_type.iloc[-1] if len(marks) else None
        out[(user, artist)] = {
            "play_count": len(plays),
            "avg_completion_rate": mean_2dp(plays.progress_percentage),
            "total_listen_time_seconds": float(plays.duration_seconds.astype(float).sum()),
            "has_favorited": latest == "track_favorite",
            "has_unfavorited_since": latest == "track_unfavorite" and (marks.event_type == "track_favorite").any(),
        }
    return out


def influence_summary(entries: pd.DataFrame) -> dict[tuple[str, str], dict]:
    out = {}
    for (user, event_type), rows in entries.groupby(["user_id", "event_type"]):
        out[(user, event_type)] = {
            "occurrence_count": len(rows),
            "first_occurrence": rows.created_at.min(),
            "last_occurrence": rows.created_at.max(),
            **{f"total_influence_{d}": float(rows[f"delta_{d}"].sum()) for d in DOMAINS},
        }
    return out


def net_spend(entries: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per user and currency: completed payments minus what refunds reversed. A refund reverses its payment when
    both completed, in one currency, the payment dated at or before it, and no earlier refund did."""
    treasury = entries[entries.event_type.str.startswith("treasury.")]
    payments = treasury[treasury.event_type != "treasury.refund"].set_index("id")
    totals: dict[str, dict[str, int]] = {}
    reversed_payments: set[str] = set()

    def add(user: str, currency: str, cents: int) -> None:
        per_user = totals.setdefault(user, {})
        per_user[currency] = per_user.get(currency, 0) + cents

    for row in treasury.sort_values(["created_at", "id"]).itertuples(index=False):
        if row.event_type != "treasury.refund":
            add(row.user_id, row.currency, int(row.amount_cents) if row.status == "completed" else 0)
            continue
        paid = payments.loc[row.refunded_transaction_id] if row.refunded_transaction_id in payments.index else None
        reverses = (
            paid is not None and row.status == "completed" and paid.status == "completed"
            and paid.currency == row.currency and paid.created_at <= row.created_at
            and row.refunded_transaction_id not in reversed_payments
        )  # fmt: skip
        if reverses:
            reversed_payments.add(row.refunded_transaction_id)
        add(row.user_id, row.currency, -min(int(row.amount_cents), int(paid.amount_cents)) if reverses else 0)
    return totals


def close(a: float | None, b: float | None, tolerance: float = 2e-6) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(float(a), float(b), abs_tol=tolerance)
