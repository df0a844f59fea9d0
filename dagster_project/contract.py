"""The published contract, in one place: what the app reads (names, columns, types), the domains and windows
(with their lengths), the sources' columns the pipeline relies on, and the Dagster asset keys.

Publish, `coliseum verify`, the entitlement read, the asset descriptions and the README's contract table
all come from here (tests/unit/test_contract.py checks the README against it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from dagster import AssetKey

DOMAINS: tuple[str, ...] = ("A", "T", "G", "C")
DOMAIN_NAMES = {"A": "cultural", "T": "behavioral", "G": "economic", "C": "spatial"}

# Window -> its length in UTC days ending at the as-of date D (None: everything before D + 1).
WINDOW_DAYS: dict[str, int | None] = {"7d": 7, "30d": 30, "alltime": None}
WINDOWS: tuple[str, ...] = tuple(WINDOW_DAYS)


def window_start(as_of: date, window: str) -> date | None:
    """First UTC day of `window` as of `as_of` (None: the window is unbounded)."""
    days = WINDOW_DAYS[window]
    return None if days is None else as_of - timedelta(days=days - 1)


MONEY = "bigint"
TIMESTAMP = "timestamp with time zone"


@dataclass(frozen=True)
class Relation:
    """A published relation: its columns as (name, Postgres type as information_schema names it)."""

    name: str
    columns: tuple[tuple[str, str], ...]
    description: str
    snapshot_table: str | None = None
    """Window-grain marts are copied per publication into this build-schema table."""

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _type in self.columns)

    @property
    def select_list(self) -> str:
        """The columns as a SQL select list (`window` is a reserved word)."""
        return ", ".join(f'"{c}"' if c == "window" else c for c in self.column_names)

    @property
    def types(self) -> dict[str, str]:
        return dict(self.columns)


def board_name(domain: str, window: str) -> str:
    return f"coliseum_leaderboard_{domain.lower()}_{window}"


BOARDS: tuple[tuple[str, str], ...] = tuple((d, w) for d in DOMAINS for w in WINDOWS)
BOARD_NAMES: tuple[str, ...] = tuple(board_name(d, w) for d, w in BOARDS)
BOARD_COLUMNS: tuple[tuple[str, str], ...] = (
    ("rank", "bigint"),
    ("entity_id", "uuid"),
    ("artist_name", "text"),
    ("score", "numeric"),
    ("event_count", "bigint"),
    ("unique_fans", "bigint"),
    ("previous_rank", "bigint"),
    ("rank_change", "bigint"),
    ("as_of_date", "date"),
)
BOARD_RELATIONS: tuple[Relation, ...] = tuple(
    Relation(
        board_name(domain, window),
        BOARD_COLUMNS,
        f"Published leaderboard, domain {domain} ({DOMAIN_NAMES[domain]}), window {window} (a view).",
    )
    for domain, window in BOARDS
)

SNAPSHOTS: tuple[Relation, ...] = (
    Relation(
        "coliseum_domain_strength",
        (
            ("entity_id", "uuid"),
            ("domain", "text"),
            ("window", "text"),
            ("as_of_date", "date"),
            ("strength", "numeric"),
            ("event_count", "bigint"),
            ("unique_fans", "bigint"),
        ),
        "Published domain strength for the as-of date, all windows (a view).",
        "coliseum_published_strength",
    ),
    Relation(
        "artist_revenue_summary",
        (
            ("artist_id", "uuid"),
            ("artist_name", "text"),
            ("currency", "text"),
            ("window", "text"),
            ("as_of_date", "date"),
            ("gross_cents", MONEY),
            ("refunds_cents", MONEY),
            ("net_cents", MONEY),
            ("completed_transactions", "bigint"),
            ("refunded_transactions", "bigint"),
            ("pending_transactions", "bigint"),
            ("failed_transactions", "bigint"),
            ("excluded_transactions", "bigint"),
            ("paying_fans", "bigint"),
            ("first_sale_at", TIMESTAMP),
            ("last_sale_at", TIMESTAMP),
        ),
        "Published revenue per artist, currency and window: gross, refunds, net (a view).",
        "coliseum_published_revenue_summary",
    ),
    Relation(
        "artist_event_revenue",
        (
            ("artist_id", "uuid"),
            ("event_id", "uuid"),
            ("currency", "text"),
            ("window", "text"),
            ("as_of_date", "date"),
            ("ticket_cents", MONEY),
            ("on_site_cents", MONEY),
            ("gross_cents", MONEY),
            ("refunds_cents", MONEY),
            ("net_cents", MONEY),
            ("tickets_sold", "bigint"),
            ("on_site_sales", "bigint"),
            ("excluded_transactions", "bigint"),
            ("paying_fans", "bigint"),
        ),
        "Published ticket and on-site revenue per artist, concierto event and currency (a view).",
        "coliseum_published_event_revenue",
    ),
    Relation(
        "artist_revenue_per_fan",
        (
            ("artist_id", "uuid"),
            ("artist_name", "text"),
            ("currency", "text"),
            ("window", "text"),
            ("as_of_date", "date"),
            ("net_cents", MONEY),
            ("unique_fans", "bigint"),
            ("paying_fans", "bigint"),
            ("net_cents_per_fan", MONEY),
            ("net_cents_per_paying_fan", MONEY),
        ),
        "Published net revenue per unique and per paying fan (a view).",
        "coliseum_published_revenue_per_fan",
    ),
    Relation(
        "coliseum_artist_dna",
        (
            ("entity_id", "uuid"),
            ("artist_name", "text"),
            ("window", "text"),
            ("as_of_date", "date"),
            *(
                (f"{metric}_{d.lower()}", kind)
                for d in DOMAINS
                for metric, kind in (("strength", "numeric"), ("rank", "bigint"))
            ),
            ("genre_diversity_score", "numeric"),
            ("genres", "bigint"),
            ("repeat_engagement_rate", "numeric"),
            ("repeat_fans", "bigint"),
            ("unique_fans", "bigint"),
            ("geographic_reach", "bigint"),
            ("cities", "bigint"),
        ),
        "Published artist DNA: strength, rank and metric per domain and window (a view).",
        "coliseum_published_artist_dna",
    ),
)

MUTATIONS = Relation(
    "coliseum_dna_mutations",
    (
        ("passport_entry_id", "uuid"),
        ("entity_id", "uuid"),
        ("domain", "text"),
        ("event_type", "text"),
        ("effective_delta", "numeric"),
        ("weight_version", "text"),
        ("created_at", TIMESTAMP),
    ),
    "Published mutations up to the as-of date: each day's audited build, switched with the boards.",
)
METRICS = Relation(
    "coliseum_metrics",
    (
        ("id", "uuid"),
        ("entity_id", "uuid"),
        ("entity_type", "text"),
        ("metric_type", "text"),
        ("metric_value", "numeric"),
        ("metadata", "jsonb"),
        ("timestamp", TIMESTAMP),
    ),
    "Legacy compatibility view over the published mutations (entity_id, metric_type, ...).",
)
# The app's table (billing writes it); the pipeline creates it when missing and reads it.
ENTITLEMENTS = Relation(
    "coliseum_entitlements",
    (
        ("id", "uuid"),
        ("user_id", "uuid"),
        ("plan", "text"),
        ("domains", "ARRAY"),
        ("leaderboard_depth", "integer"),
        ("expires_at", TIMESTAMP),
        ("stripe_subscription_id", "text"),
        ("created_at", TIMESTAMP),
        ("updated_at", TIMESTAMP),
    ),
    "The app's entitlements (billing writes them): plan, domains and depth per user.",
)

# --- The fan side: user DNA and the DIA dashboard's marts (README, "User DNA and the DIA marts") ---------------
# Views over two published copies that each publish brings to its as-of date day by day (like the mutations):
# the users' counted entries and their DNA running sums. Every row belongs to one user: an app role reads
# only its own (auth.uid()), the admin roles read all.
DNA_COLUMNS: tuple[tuple[str, str], ...] = tuple((f"dna_{d.lower()}", "numeric") for d in DOMAINS)
SHARE_COLUMNS: tuple[tuple[str, str], ...] = tuple((f"share_{d.lower()}", "numeric") for d in DOMAINS)
INFLUENCE_COLUMNS: tuple[tuple[str, str], ...] = tuple((f"influence_{d.lower()}", "numeric") for d in DOMAINS)


@dataclass(frozen=True)
class DayCopy:
    """A build model published as one copy brought up to date day by day (not copied per publication)."""

    model: str
    table: str
    columns: tuple[tuple[str, str], ...]

    @property
    def select_list(self) -> str:
        return ", ".join(name for name, _type in self.columns)


USER_ENTRIES_COPY = DayCopy(
    "int_user_entries",
    "coliseum_published_user_entries",
    (
        ("passport_entry_id", "uuid"),
        ("user_id", "uuid"),
        ("session_id", "text"),
        ("activity_date", "date"),
        ("created_at", TIMESTAMP),
        ("event_type", "text"),
        ("event_category", "text"),
        ("interaction_category", "text"),
        ("entity_type", "text"),
        ("entity_id", "text"),
        ("artist_id", "uuid"),
        ("content_id", "text"),
        ("genre", "text"),
        ("duration_seconds", "numeric"),
        ("progress_percentage", "numeric"),
        ("currency", "text"),
        ("spend_cents", MONEY),
        ("weight_version", "text"),
        ("base_intensity", "numeric"),
        *((f"weight_{d.lower()}", "numeric") for d in DOMAINS),
        *((f"delta_{d.lower()}", "numeric") for d in DOMAINS),
    ),
)
USER_DNA_COPY = DayCopy(
    "int_user_dna_totals",
    "coliseum_published_user_dna",
    (
        ("activity_date", "date"),
        ("user_id", "uuid"),
        *((f"scaled_{d.lower()}", "numeric") for d in DOMAINS),
        *INFLUENCE_COLUMNS,
        ("events_counted", "bigint"),
        ("last_event_at", TIMESTAMP),
        ("half_life_days", "numeric"),
        ("anchor_date", "date"),
        ("valid_until", "date"),
    ),
)
DAY_COPIES: tuple[DayCopy, ...] = (USER_ENTRIES_COPY, USER_DNA_COPY)

USER_DNA = Relation(
    "coliseum_user_dna",
    (
        ("user_id", "uuid"),
        ("as_of_date", "date"),
        *DNA_COLUMNS,
        *SHARE_COLUMNS,
        ("events_counted", "bigint"),
        ("last_event_at", TIMESTAMP),
        ("last_active_date", "date"),
        ("half_life_days", "numeric"),
    ),
    "Published user DNA as of the publication's date: per domain an EMA of the user's daily influence (a view).",
)
USER_DNA_HISTORY = Relation(
    "coliseum_user_dna_history",
    (
        ("user_id", "uuid"),
        ("activity_date", "date"),
        *DNA_COLUMNS,
        *SHARE_COLUMNS,
        ("events_counted", "bigint"),
        ("last_event_at", TIMESTAMP),
    ),
    "Published user DNA evolution: the DNA as of each of the user's active days (a view).",
)
DIA_USER_MATRIX = Relation(
    "dia_user_matrix",
    (
        ("user_id", "uuid"),
        ("first_seen_at", TIMESTAMP),
        ("last_seen_at", TIMESTAMP),
        ("listening_count", "bigint"),
        ("engagement_count", "bigint"),
        ("vote_count", "bigint"),
        ("attendance_count", "bigint"),
        ("purchase_count", "bigint"),
        ("refund_count", "bigint"),
        ("sessions", "bigint"),
        ("net_spend_cents", "jsonb"),
        ("dna_as_of_date", "date"),
        *DNA_COLUMNS,
        *SHARE_COLUMNS,
        ("dna_last_updated", TIMESTAMP),
    ),
    "DIA user matrix: per user, activity counts by category, sessions, net spend per currency, current DNA.",
)
DIA_TIMELINE = Relation(
    "dia_interaction_timeline",
    (
        ("user_id", "uuid"),
        ("passport_entry_id", "uuid"),
        ("created_at", TIMESTAMP),
        ("source", "text"),
        ("interaction_type", "text"),
        ("event_category", "text"),
        ("entity_type", "text"),
        ("entity_id", "text"),
        ("artist_id", "uuid"),
        ("artist_name", "text"),
        ("content_id", "text"),
        ("genre", "text"),
        ("play_duration", "numeric"),
        ("progress_percentage", "numeric"),
        ("session_id", "text"),
        *INFLUENCE_COLUMNS,
    ),
    "DIA interaction timeline: every counted entry of a user, newest first (index-backed per user).",
)
DIA_INFLUENCE = Relation(
    "dia_influence_summary",
    (
        ("user_id", "uuid"),
        ("interaction_type", "text"),
        ("occurrence_count", "bigint"),
        ("first_occurrence", TIMESTAMP),
        ("last_occurrence", TIMESTAMP),
        ("weight_version", "text"),
        ("base_intensity", "numeric"),
        *((f"weight_{d.lower()}", "numeric") for d in DOMAINS),
        *((f"total_influence_{d.lower()}", "numeric") for d in DOMAINS),
        ("total_influence", "numeric"),
    ),
    "DIA DNA influence summary: per user and event type, occurrences, weights in force, influence per domain.",
)
DIA_SESSIONS = Relation(
    "dia_sessions",
    (
        ("user_id", "uuid"),
        ("session_id", "text"),
        ("tracks_played", "bigint"),
        ("unique_tracks", "bigint"),
        ("session_start", TIMESTAMP),
        ("session_end", TIMESTAMP),
        ("session_duration_seconds", "numeric"),
        ("avg_completion_rate", "numeric"),
        ("dominant_genre", "text"),
    ),
    "DIA session analysis: per user and session, the plays, their span, completion and dominant genre.",
)
DIA_AFFINITY = Relation(
    "dia_artist_affinity",
    (
        ("user_id", "uuid"),
        ("artist_id", "uuid"),
        ("artist_name", "text"),
        ("play_count", "bigint"),
        ("avg_completion_rate", "numeric"),
        ("total_listen_time_seconds", "numeric"),
        ("first_listen", TIMESTAMP),
        ("last_listen", TIMESTAMP),
        ("has_favorited", "boolean"),
        ("has_unfavorited_since", "boolean"),
    ),
    "DIA genre/artist affinity: per user and artist, plays, completion, listening time, favorite state.",
)
FAN_RELATIONS: tuple[Relation, ...] = (
    USER_DNA,
    USER_DNA_HISTORY,
    DIA_USER_MATRIX,
    DIA_TIMELINE,
    DIA_INFLUENCE,
    DIA_SESSIONS,
    DIA_AFFINITY,
)
FAN_NAMES: tuple[str, ...] = tuple(r.name for r in FAN_RELATIONS)

# What each publish switches (views over the publication), in publish order.
PUBLISHED: tuple[Relation, ...] = (*BOARD_RELATIONS, *SNAPSHOTS, MUTATIONS, METRICS, *FAN_RELATIONS)
PUBLISHED_NAMES: tuple[str, ...] = tuple(r.name for r in PUBLISHED)
# Everything `coliseum verify` checks in the publish schema.
CONTRACT: tuple[Relation, ...] = (*PUBLISHED, ENTITLEMENTS)

# Functions of the published contract: name -> argument types (as to_regprocedure reads them).
FUNCTIONS: dict[str, str] = {
    "coliseum_genre_diversity_score": "uuid, text",
    "coliseum_repeat_engagement_rate": "uuid, text",
    "coliseum_revenue_per_fan": "uuid, text, text",
    "coliseum_geographic_reach": "uuid, text",
    "coliseum_get_artist_dna": "uuid",
    "get_user_coliseum_plan": "uuid",
    "coliseum_leaderboard": "text, text, integer",
    "coliseum_user_dna_ema": "numeric, date, numeric, date",
}

# What the pipeline reads from the app's tables (other columns may exist and are ignored): accepted types.
SOURCES: dict[str, dict[str, set[str]]] = {
    "passport_entries": {
        "id": {"uuid"},
        "user_id": {"uuid"},
        "session_id": {"uuid", "text"},
        "device_id": {"text"},
        "event_type": {"text"},
        "event_category": {"text"},
        "entity_type": {"text"},
        "entity_id": {"uuid", "text"},
        "metadata": {"jsonb"},
        "created_at": {TIMESTAMP},
        "coliseum_processed_at": {TIMESTAMP},
    },
    "artist_profiles": {"id": {"uuid"}, "artist_name": {"text"}},
}

# Asset keys: the sources by their table name, dbt models under `coliseum/`, published views under `published/`.
BUILD_PREFIX = "coliseum"
PUBLISHED_PREFIX = "published"
PASSPORT_ENTRIES = AssetKey("passport_entries")
ARTIST_PROFILES = AssetKey("artist_profiles")


def build_key(model: str) -> AssetKey:
    return AssetKey([BUILD_PREFIX, model])


def published_key(name: str) -> AssetKey:
    return AssetKey([PUBLISHED_PREFIX, name])


LEDGER_KEY = build_key("coliseum_daily_ledger")
CANDIDATE_KEY = build_key("publication_candidate")
STAGING_KEY = build_key("stg_passport__entries")
MUTATIONS_KEY = build_key("coliseum_dna_mutations")
HISTORY_KEY = build_key("coliseum_leaderboard_history")
