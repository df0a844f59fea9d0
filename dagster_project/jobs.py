"""One asset job per partitioning (Dagster runs a single partitioning per run); see nightly.py."""

from dagster import AssetSelection, Failure, OpExecutionContext, define_asset_job, job, op

from dagster_project.assets.dbt import coliseum_daily_assets, coliseum_window_assets
from dagster_project.assets.ledger import coliseum_daily_ledger
from dagster_project.assets.publish import publication_candidate, publish_relations
from dagster_project.checks import DAILY_CHECKS, PUBLISH_CHECKS
from dagster_project.nightly import DAILY_JOB, PUBLISH_JOB, RECOMPUTE_JOB, WINDOWS_JOB
from dagster_project.recompute import recompute
from dagster_project.resources import PostgresResource
from dagster_project.settings import get_settings

daily_job = define_asset_job(
    DAILY_JOB,
    selection=AssetSelection.assets(coliseum_daily_assets, coliseum_daily_ledger)
    | AssetSelection.checks(*DAILY_CHECKS),
    description=(
        "Read the log for one or more UTC days into mutations, quarantine and rollups; once every check passed, "
        "mark the entries processed (the daily ledger)."
    ),
)
windows_job = define_asset_job(
    WINDOWS_JOB,
    selection=AssetSelection.assets(coliseum_window_assets),
    description="Domain strength and leaderboard history for one (as-of date, window).",
)
publish_job = define_asset_job(
    PUBLISH_JOB,
    selection=AssetSelection.assets(publication_candidate, publish_relations) | AssetSelection.checks(*PUBLISH_CHECKS),
    description="Stage a candidate, audit it (blocking), switch the published relations atomically.",
)


@op(
    description="Rebuild the live as-of date from the log in a scratch schema and diff every published relation "
    "(coliseum verify --recompute); fails, and so alerts, on any difference."
)
def recompute_published(context: OpExecutionContext, postgres: PostgresResource) -> None:
    report = recompute(postgres.url(), get_settings())
    for line in report.lines():
        context.log.info(line)
    if not report.ok:
        differing = [r for r in report.relations if not r.ok]
        raise Failure(
            description=f"{len(differing)} published relation(s) differ from a full rebuild as of "
            f"{report.as_of_date}: " + ", ".join(r.name for r in differing),
            metadata={"differences": "\n".join(report.lines())},
        )


@job(name=RECOMPUTE_JOB, description="Weekly: is what the app reads true? Published relations vs a full rebuild.")
def recompute_job() -> None:
    recompute_published()
