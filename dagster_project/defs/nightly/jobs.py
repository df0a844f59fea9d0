"""One asset job per partitioning (Dagster runs a single partitioning per run; see plan.py), and the weekly
recompute."""

from dagster import (
    AssetsDefinition,
    AssetSelection,
    Failure,
    OpExecutionContext,
    define_asset_job,
    job,
    op,
)
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from dagster_project.defs.nightly.plan import DAILY_JOB, PUBLISH_JOB, RECOMPUTE_JOB, WINDOWS_JOB
from dagster_project.defs.quality.checks import DAILY_CHECKS, PUBLISH_CHECKS
from dagster_project.defs.quality.recompute import recompute
from dagster_project.defs.resources import ColiseumResource


def build_asset_jobs(
    daily: AssetsDefinition,
    ledger: AssetsDefinition,
    windows: AssetsDefinition,
    candidate: AssetsDefinition,
    published: AssetsDefinition,
) -> tuple[UnresolvedAssetJobDefinition, UnresolvedAssetJobDefinition, UnresolvedAssetJobDefinition]:
    """(daily, windows, publish)."""
    daily_job = define_asset_job(
        DAILY_JOB,
        selection=AssetSelection.assets(daily, ledger) | AssetSelection.checks(*DAILY_CHECKS),
        description=(
            "Read the log for one or more UTC days into mutations, quarantine and rollups; once every check "
            "passed, mark the entries processed (the daily ledger)."
        ),
    )
    windows_job = define_asset_job(
        WINDOWS_JOB,
        selection=AssetSelection.assets(windows),
        description="Domain strength, leaderboard history, revenue and artist DNA for one (as-of date, window).",
    )
    publish_job = define_asset_job(
        PUBLISH_JOB,
        selection=AssetSelection.assets(candidate, published) | AssetSelection.checks(*PUBLISH_CHECKS),
        description="Stage a candidate, audit it (blocking), switch the published relations atomically.",
    )
    return daily_job, windows_job, publish_job


@op(
    description="Rebuild the live as-of date from the log in a scratch schema and diff every published relation "
    "(coliseum verify --recompute); fails, and so alerts, on any difference."
)
def recompute_published(context: OpExecutionContext, coliseum: ColiseumResource) -> None:
    report = recompute(coliseum.url(), coliseum.settings)
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
