"""What a check (or a dbt test) launched on its own audits: the UI's Execute on a check starts a run with no
partition and no candidate, so it names the newest built day, or the live publication (what the app reads).
Before anything was built, a one-line Failure says so."""

from datetime import date

from dagster import Failure

from dagster_project.defs.nightly.ledger import last_closed_day
from dagster_project.defs.publish.publication import Publication, current_publication
from dagster_project.defs.resources import ColiseumResource


def newest_built_day(coliseum: ColiseumResource, check: str) -> date:
    """The newest day whose build passed and was closed."""
    with coliseum.connect() as conn:
        day = last_closed_day(conn, coliseum.settings)
    if day is None:
        raise Failure(
            description=f"{check} audits built days, and no day has been built yet: run the nightly job "
            "(or a daily partition) first"
        )
    return day


def live_publication(coliseum: ColiseumResource, check: str) -> Publication:
    with coliseum.connect() as conn:
        live = current_publication(conn, coliseum.settings)
    if live is None:
        raise Failure(description=f"{check} audits a publication, and nothing has been published yet: run the "
                      "nightly job first")  # fmt: skip
    return live
