"""Alerts: one per failed run and per failed check (warnings included), to a JSONL log an operator can
tail and, when configured, a Slack-compatible webhook. Deduplicated in Postgres by (check, partition, root
run), so retries, sensor ticks and the CLI never send the same alert twice. A failing sink never blocks."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.storage.tags import ROOT_RUN_ID_TAG
from psycopg import sql

from dagster_project.defs.nightly.partitions import run_partition
from dagster_project.defs.nightly.plan import DAILY_JOB
from dagster_project.defs.publish.publication import current_publication
from dagster_project.settings import Settings

# Year 10000 on (and +infinity) is quarantined as invalid_created_at (dbt/macros/validation.sql), not "ahead".
END_OF_TIME = "10000-01-01 00:00:00+00"


@dataclass
class Alert:
    kind: str  # check_failed | run_failed | stale_publication | backlog | sink_failed
    key: str
    message: str
    severity: str = "error"
    check: str | None = None
    asset: str | None = None
    partition: str | None = None
    run_id: str | None = None
    failing_count: int | None = None
    sample: Any = None
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())


def run_alerts(
    instance: DagsterInstance, run_ids: list[str] | None = None, since: datetime | None = None
) -> list[Alert]:
    """Failed runs and failed check evaluations (including WARN checks in runs that succeeded)."""
    if run_ids is None:
        records = instance.get_run_records(RunsFilter(updated_after=since), limit=500)
        runs = [r.dagster_run for r in records]
    else:
        runs = [run for run_id in run_ids if (run := instance.get_run_by_id(run_id)) is not None]
    alerts = []
    for run in runs:
        root = run.tags.get(ROOT_RUN_ID_TAG, run.run_id)
        partition = run_partition(run.tags)
        # A run launched without a partition (a check executed from the UI, the weekly recompute).
        scope = f"for {partition}" if partition else "(no partition)"
        for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
            evaluation = entry.dagster_event.event_specific_data
            if evaluation.passed:
                continue
            metadata = {k: getattr(v, "value", v) for k, v in evaluation.metadata.items()}
            check = evaluation.check_name
            asset = evaluation.asset_key.to_user_string()
            alerts.append(
                Alert(
                    kind="check_failed",
                    key=f"check:{asset}:{check}:{partition}:{root}",
                    message=f"[{evaluation.severity.value}] check {check} on {asset} failed {scope} "
                    f"(run {run.run_id}): {metadata.get('summary') or evaluation.description or ''}",
                    severity=evaluation.severity.value.lower(),
                    check=check,
                    asset=asset,
                    partition=partition,
                    run_id=run.run_id,
                    failing_count=metadata.get("failing_count"),
                    sample=metadata.get("sample"),
                )
            )
        if run.status == DagsterRunStatus.FAILURE:
            cause = _failure_cause(instance, run.run_id)
            retry = (
                "; its entries stay unprocessed and the next run retries these days"
                if run.job_name == DAILY_JOB
                else "; the last publication is unchanged"
            )
            alerts.append(
                Alert(
                    kind="run_failed",
                    key=f"run:{run.job_name}:{partition}:{root}",
                    message=f"run {run.run_id} of {run.job_name} failed {scope}{retry}"
                    + (f": {cause}" if cause else ""),
                    run_id=run.run_id,
                    partition=partition,
                )
            )
    return alerts


def _failure_cause(instance: DagsterInstance, run_id: str) -> str:
    """The first failed step's own message (a Failure's description, an exception's text), shortened."""
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE):
        error = entry.dagster_event.event_specific_data.error
        if error is not None:
            return error.message.strip().splitlines()[0][:500]
    return ""


def freshness_alerts(conn: psycopg.Connection, settings: Settings, now: datetime | None = None) -> list[Alert]:
    """The log has news but the boards are older than the allowed age; old entries still unprocessed."""
    now = now or datetime.now(UTC)
    alerts = []
    live = current_publication(conn, settings)
    published_at = live.published_at if live else None
    # Timestamps are read as text where a malformed entry could hold one Python cannot represent (infinity).
    newest = conn.execute(
        sql.SQL("select max(created_at) from {} where created_at <= %s").format(_log(settings)), (now,)
    ).fetchone()[0]
    limit = timedelta(hours=settings.freshness_hours)
    if newest is not None and (published_at is None or (newest > published_at and now - published_at > limit)):
        age = "never published" if published_at is None else f"published {now - published_at} ago"
        alerts.append(
            Alert(
                kind="stale_publication",
                key=f"stale:{now.date()}",
                message=f"leaderboards are stale: {age} (limit {settings.freshness_hours} h), newest entry {newest}",
            )
        )
    backlog, oldest = conn.execute(
        sql.SQL(
            "select count(*), min(created_at)::text from {} where coliseum_processed_at is null and created_at < %s"
        ).format(_log(settings)),
        (now - timedelta(days=1),),
    ).fetchone()
    if backlog:
        alerts.append(
            Alert(
                kind="backlog",
                key=f"backlog:{now.date()}",
                message=f"{backlog} entries older than a day are unprocessed (oldest {oldest})",
                failing_count=backlog,
            )
        )
    ahead = conn.execute(
        sql.SQL(
            "select id::text, created_at::text from {} where created_at > %s and created_at < %s::timestamptz "
            "and coliseum_processed_at is null order by created_at limit 20"
        ).format(_log(settings)),
        (now + timedelta(days=1), END_OF_TIME),
    ).fetchall()
    if ahead:
        count = conn.execute(
            sql.SQL("select count(*) from {} where created_at > %s and created_at < %s::timestamptz").format(
                _log(settings)
            ),
            (now + timedelta(days=1), END_OF_TIME),
        ).fetchone()[0]
        alerts.append(
            Alert(
                kind="backlog",
                key=f"future:{now.date()}",
                severity="warn",
                message=f"{count} entries are dated more than a day ahead; they are not yet due and wait for "
                f"their day (first: {', '.join(f'{i} at {t}' for i, t in ahead[:3])})",
                failing_count=count,
                sample=[{"id": i, "created_at": t} for i, t in ahead],
            )
        )
    return alerts


def _log(settings: Settings) -> sql.Composed:
    return sql.SQL("{}.passport_entries").format(sql.Identifier(settings.source_schema))


def dispatch(conn: psycopg.Connection, settings: Settings, alerts: list[Alert]) -> list[Alert]:
    """Send each alert once; returns those sent now. Sink failures become alerts in the log."""
    sent = []
    for alert in alerts:
        fresh = conn.execute(
            sql.SQL(
                "insert into {}.coliseum_alerts_sent (alert_key) values (%s) on conflict do nothing returning 1"
            ).format(sql.Identifier(settings.build_schema)),
            (alert.key,),
        ).fetchone()
        if fresh is None:
            continue
        _append(settings, alert)
        if settings.alert_webhook_url:
            try:
                _post(settings.alert_webhook_url, alert)
            except Exception as error:  # any sink error: logged, never raised
                _append(
                    settings,
                    Alert(
                        kind="sink_failed",
                        key=f"sink:{alert.key}",
                        severity="warn",
                        message=f"webhook failed for alert {alert.key}: {error}",
                    ),
                )
        sent.append(alert)
    conn.commit()
    return sent


def _append(settings: Settings, alert: Alert) -> None:
    settings.alert_log.parent.mkdir(parents=True, exist_ok=True)
    with open(settings.alert_log, "a") as handle:
        handle.write(json.dumps(asdict(alert), default=str) + "\n")


def _post(url: str, alert: Alert) -> None:
    """Slack-compatible: `text` is what Slack shows; the full alert rides along for other receivers."""
    body = json.dumps({"text": f":rotating_light: Coliseum {alert.message}", "coliseum": asdict(alert)}, default=str)
    request = urllib.request.Request(url, data=body.encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        if response.status >= 300:
            raise RuntimeError(f"HTTP {response.status}")
