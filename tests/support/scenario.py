"""Arrival scenarios for the trust tests: a log that grows night by night (late, duplicated, conflicting,
refunded, future-dated and malformed entries), nights run through the real pipeline (optionally killed after
a model), and the two checks of the trust invariant (DESIGN.md): every published relation equals a full
rebuild of the log as it stands (`coliseum verify --recompute`), and every entry of the log is counted once,
quarantined once, or not yet due."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import psycopg
from dagster import DagsterInstance

from dagster_project.app.runner import definitions, run_pipeline
from dagster_project.contract import LEDGER_KEY, build_key
from dagster_project.defs.nightly.ledger import mark_processed
from dagster_project.defs.nightly.pending import plan_run
from dagster_project.defs.nightly.plan import DAILY_JOB, WINDOWS_JOB
from dagster_project.defs.quality.recompute import recompute
from dagster_project.devtools.generate import ENTRY_COLUMNS as COLUMNS
from dagster_project.settings import Settings
from tests.support.helpers import quiet

# A daily run killed after the first 4, 7 or all 13 of these models (in build order); the rest never happened.
DAILY_ORDER: tuple[str, ...] = (
    "influence_weights",
    "currencies",
    "coliseum_plan_limits",
    "stg_passport__entries",
    "coliseum_dna_mutations",
    "coliseum_quarantine",
    "int_treasury_transactions",
    "int_artist_domain_daily",
    "int_artist_fan_days",
    "int_artist_fans_daily",
    "int_artist_tags_daily",
    "int_artist_new_fans_daily",
    "int_artist_domain_new_fans_daily",
)
DAILY_PREFIXES: tuple[tuple[str, ...], ...] = tuple(DAILY_ORDER[:n] for n in (4, 7, 13))
INTERRUPTIONS = (*(f"daily:{i}" for i in range(len(DAILY_PREFIXES))), "marked", "windows", "no_publish")


def at(day: date, hour: int = 12, minute: int = 0) -> str:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC).isoformat()


@dataclass
class Log:
    """Writes entries into passport_entries and remembers what it wrote (ids of payments, entries)."""

    url: str
    artists: list[str] = field(default_factory=lambda: [str(uuid.UUID(int=i + 1)) for i in range(4)])
    users: list[str] = field(default_factory=lambda: [str(uuid.UUID(int=1000 + i)) for i in range(6)])
    rows: list[dict] = field(default_factory=list)

    def insert(self, *rows: dict) -> list[dict]:
        with psycopg.connect(self.url, autocommit=True) as conn, conn.cursor() as cursor:
            cursor.executemany(
                f"insert into public.passport_entries ({', '.join(COLUMNS)}) "
                f"values ({', '.join(['%s'] * len(COLUMNS))})",
                [tuple(r.get(c) for c in COLUMNS) for r in rows],
            )
        self.rows += rows
        return list(rows)

    def entry(
        self,
        event_type: str,
        created_at: str | None,
        artist: str | None = None,
        user: str | None = None,
        entry_id: str | None = None,
        **metadata,
    ) -> dict:
        artist = artist or self.artists[0]
        category = (
            "treasury"
            if event_type.startswith("treasury.")
            else (
                event_type.split(".")[0]
                if "." in event_type
                else ("player" if event_type == "audio_play" else "social")
            )
        )
        return {
            "id": entry_id or str(uuid.uuid4()),
            "user_id": user or self.users[0],
            "device_id": "device-1",
            "event_type": event_type,
            "event_category": category,
            "entity_type": "artist",
            "entity_id": artist,
            "metadata": json.dumps({"artist_id": artist, **metadata}),
            "created_at": created_at,
        }

    def follow(self, day: date, artist: str | None = None, user: str | None = None, hour: int = 12, **meta) -> dict:
        return self.insert(self.entry("artist_follow", at(day, hour), artist, user, **meta))[0]

    def payment(self, day: date, cents: int = 700, currency: str = "USD", status: str = "completed",
                artist: str | None = None, hour: int = 12, entry_id: str | None = None) -> dict:  # fmt: skip
        return self._treasury("treasury.artist_tip", day, hour, artist, entry_id, cents, currency, status)

    def refund(self, day: date, payment_id: str, cents: int = 700, currency: str = "USD",
               status: str = "completed", hour: int = 12, artist: str | None = None) -> dict:  # fmt: skip
        return self._treasury("treasury.refund", day, hour, artist, None, cents, currency, status,
                              refunded_transaction_id=payment_id)  # fmt: skip

    def _treasury(self, event_type: str, day: date, hour: int, artist: str | None, entry_id: str | None,
                  cents: int, currency: str, status: str, **metadata) -> dict:  # fmt: skip
        row = self.entry(event_type, at(day, hour), artist, entry_id=entry_id, amount_cents=cents,
                         currency=currency, status=status, **metadata)  # fmt: skip
        return self.insert(row)[0]


def run_night(
    database,
    as_of: date,
    interrupt: str | None = None,
    instance: DagsterInstance | None = None,
    settings: Settings | None = None,
):
    """One night: optionally a run killed partway (its steps up to the cut, as real Dagster runs), then a
    normal run for `as_of` that must recover without manual cleanup (with `settings`, e.g. a drill's)."""
    instance = instance or database.instance
    if interrupt:
        kill_partway(database, as_of, interrupt, instance)
    return run_pipeline(settings or database.settings, [as_of], instance, log=quiet)


def kill_partway(database, as_of: date, interrupt: str, instance: DagsterInstance) -> None:
    """What a kill -9 of the night's run leaves: every model before the cut committed, nothing after it ran (a
    model's own transaction rolls back when killed inside it). `daily:i` cuts the plan's first daily run (the
    first load, or the oldest late day) after the i-th prefix of models; `marked` cuts that run's ledger step
    after it marked the entries, before it recorded the days (every daily model and check passed); `windows`
    lets the daily runs finish and cuts before the windows; `no_publish` cuts after the windows."""
    defs = definitions(database.settings)
    with database.connect() as conn:
        plan = plan_run(conn, database.settings, [as_of]).plan
    quiet = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
    stages = [stage for stage in plan if stage[0].job_name == DAILY_JOB]
    if interrupt.startswith("daily:") or interrupt == "marked":
        job = defs.resolve_job_def(DAILY_JOB)
        if interrupt == "marked":
            selection = [key for key in job.asset_layer.selected_asset_keys if key != LEDGER_KEY]
        else:
            selection = [build_key(m) for m in DAILY_PREFIXES[int(interrupt.split(":")[1])]]
        step = stages[0][0]
        result = job.execute_in_process(
            instance=instance,
            partition_key=step.partition_key,
            tags=step.run_tags(),
            run_config=quiet,
            raise_on_error=False,
            asset_selection=selection,
        )
        if interrupt == "marked":
            assert result.success, "the daily models and checks must pass before the ledger marks"
            first, last = step.partition_range or (step.partition_key, step.partition_key)
            end = date.fromisoformat(last) + timedelta(days=1)
            mark_processed(database.url, database.settings, date.fromisoformat(first), end)
        return
    for (step,) in stages:
        defs.resolve_job_def(DAILY_JOB).execute_in_process(
            instance=instance, partition_key=step.partition_key, tags=step.run_tags(), run_config=quiet
        )
    if interrupt == "no_publish":
        for step in next(stage for stage in plan if stage[0].job_name == WINDOWS_JOB):
            defs.resolve_job_def(WINDOWS_JOB).execute_in_process(
                instance=instance, tags=step.run_tags(), run_config=quiet
            )


def assert_equals_full_rebuild(database) -> None:
    """Every published relation equals a full rebuild of the log as it stands (verify --recompute)."""
    report = recompute(database.url, database.settings)
    assert report.as_of_date is not None, "nothing published"
    assert all(r.published_rows or r.rebuilt_rows for r in report.relations if r.name.startswith("coliseum_leader"))
    assert report.ok, "\n".join(report.lines())


def assert_each_entry_once(database, as_of: date) -> None:
    """Counted once, quarantined once, or not yet due: never two of these, never none of them."""
    end = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=UTC)
    query = """
        with raw as (
            select id, created_at,
                   created_at is null or created_at < %(start)s or created_at >= '10000-01-01'::timestamptz as untimed,
                   created_at >= %(start)s and created_at < %(end)s as due,
                   coliseum_processed_at is not null as processed
            from public.passport_entries
        )
        select
            -- due or untimed entries are all processed after a successful run; entries not yet due never are
            count(*) filter (where (due or untimed) and not processed),
            count(*) filter (where not due and not untimed and processed),
            -- an id is never both counted and quarantined, and never counted twice
            (select count(*) from (
                select passport_entry_id from coliseum.stg_passport__entries where rejection_reason is null
                group by 1 having count(*) > 1) twice),
            (select count(*) from coliseum.stg_passport__entries s
             join coliseum.coliseum_quarantine q using (passport_entry_id) where s.rejection_reason is null),
            -- nothing not yet due reached the staged log or the quarantine
            (select count(*) from coliseum.stg_passport__entries where created_at >= %(end)s
                and created_at < '10000-01-01'::timestamptz),
            (select count(*) from coliseum.coliseum_quarantine where created_at >= %(end)s
                and created_at < '10000-01-01'::timestamptz),
            -- a quarantined version is quarantined once
            (select count(*) from (select quarantine_key from coliseum.coliseum_quarantine group by 1
                                   having count(*) > 1) twice)
        from raw
    """
    start = database.settings.platform_start
    with database.connect() as conn:
        row = conn.execute(query, {"start": start, "end": end}).fetchone()
        unaccounted = conn.execute(
            """
            select count(*) from public.passport_entries p
            where p.created_at >= %(start)s and p.created_at < %(end)s
              and not exists (select 1 from coliseum.stg_passport__entries s
                              where s.passport_entry_id is not distinct from p.id
                                and s.activity_date = (p.created_at at time zone 'UTC')::date)
            """,
            {"start": start, "end": end},
        ).fetchone()[0]
    names = (
        "due but unprocessed",
        "not due but processed",
        "counted twice",
        "counted and quarantined",
        "staged before due",
        "quarantined before due",
        "quarantined twice",
    )
    found = dict(zip(names, row, strict=True))
    assert found == dict.fromkeys(names, 0), found
    assert unaccounted == 0, "a due entry is missing from its day's staged rows"
