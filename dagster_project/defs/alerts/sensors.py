"""The alert sensors: failed runs and checks, and the freshness of the published boards."""

from datetime import UTC, datetime, timedelta

from dagster import DefaultSensorStatus, SensorEvaluationContext, SkipReason, sensor

from dagster_project.defs.alerts.alerts import dispatch, freshness_alerts, run_alerts
from dagster_project.defs.resources import ColiseumResource


@sensor(
    name="coliseum_alerts",
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="One alert per failed run and per failed check (warnings in successful runs too).",
)
def coliseum_alerts(context: SensorEvaluationContext, coliseum: ColiseumResource) -> SkipReason:
    now = datetime.now(UTC)
    since = datetime.fromtimestamp(float(context.cursor), UTC) if context.cursor else now - timedelta(days=1)
    alerts = run_alerts(context.instance, since=since)
    with coliseum.connect() as conn:
        sent = dispatch(conn, coliseum.settings, alerts)
    # Overlapping windows are harmless: dispatch deduplicates.
    context.update_cursor(str((now - timedelta(minutes=5)).timestamp()))
    return SkipReason(f"{len(sent)} new alert(s) sent")


@sensor(
    name="coliseum_freshness",
    minimum_interval_seconds=3600,
    default_status=DefaultSensorStatus.RUNNING,
    description="Alerts when the boards are older than COLISEUM_FRESHNESS_HOURS or old entries are unprocessed.",
)
def coliseum_freshness(context: SensorEvaluationContext, coliseum: ColiseumResource) -> SkipReason:
    with coliseum.connect() as conn:
        sent = dispatch(conn, coliseum.settings, freshness_alerts(conn, coliseum.settings))
    return SkipReason(f"{len(sent)} new alert(s) sent")
