"""Great Expectations (1.x, run directly) against Postgres: suites are JSON data in `expectations/`.

A suite file may use {{build_schema}}, {{source_schema}} and the caller's placeholders inside SQL strings
(the unexpected-rows expectations); values are validated identifiers or dates, substituted before parsing.
"""

from __future__ import annotations

import hashlib
import json
import uuid
import warnings
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from psycopg.conninfo import conninfo_to_dict

from dagster_project.settings import PROJECT_ROOT, Settings

SUITES_DIR = PROJECT_ROOT / "expectations"


@dataclass
class SuiteRun:
    suite: str
    target: str
    success: bool
    evaluated: int
    failures: list[dict[str, Any]] = field(default_factory=list)
    result_id: Any = None  # GX ValidationResultIdentifier: what Data Docs renders for this run

    @property
    def failing_count(self) -> int:
        return sum(f["unexpected_count"] or 1 for f in self.failures)

    def summary(self) -> str:
        if self.success:
            return f"{self.suite} on {self.target}: {self.evaluated} expectations passed"
        names = ", ".join(
            f"{f['expectation']}({f['column'] or ''}) x{f['unexpected_count']}"
            + (f" [error: {f['error'][:300]}]" if f.get("error") else "")
            for f in self.failures
        )
        return f"{self.suite} on {self.target}: failed {names}"

    def sample(self) -> list[Any]:
        return [
            {"expectation": f["expectation"], "column": f["column"], "rows": f["sample"][:5]} for f in self.failures
        ]


def sqlalchemy_url(url: str) -> str:
    """GX (SQLAlchemy) rejects a socket-only URL; a unix socket becomes localhost plus ?host=<dir>."""
    parts = conninfo_to_dict(url)
    host = str(parts.get("host") or "localhost")
    query = {}
    if host.startswith("/"):
        query["host"], host = host, "localhost"
    if parts.get("sslmode"):
        query["sslmode"] = str(parts["sslmode"])
    auth = quote(str(parts.get("user") or "postgres"), safe="")
    if parts.get("password"):
        auth += ":" + quote(str(parts["password"]), safe="")
    port = f":{parts['port']}" if parts.get("port") else ""
    suffix = f"?{urlencode(query)}" if query else ""
    return f"postgresql+psycopg2://{auth}@{host}{port}/{parts.get('dbname') or 'postgres'}{suffix}"


def load_suite(name: str, placeholders: dict[str, str]) -> dict[str, Any]:
    text = (SUITES_DIR / f"{name}.json").read_text()
    for key, value in placeholders.items():
        text = text.replace("{{" + key + "}}", value)
    return json.loads(text)


@cache
def _context(docs_dir: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.add_data_docs_site(
        site_name="coliseum",
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": docs_dir},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    return context


def _datasource(context, url: str):
    """One datasource per database, on a URL GX accepts (a unix socket as localhost plus ?host=)."""
    name = f"coliseum-{hashlib.md5(url.encode()).hexdigest()[:10]}"
    try:
        return context.data_sources.get(name)
    except (KeyError, ValueError, LookupError):
        return context.data_sources.add_postgres(name=name, connection_string=sqlalchemy_url(url))


def run_suite(
    url: str,
    settings: Settings,
    suite_name: str,
    target: str,
    query: str,
    placeholders: dict[str, str] | None = None,
    parameters: dict[str, Any] | None = None,
) -> SuiteRun:
    """Validate the rows `query` returns against the suite; build Data Docs; never raises on failure."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    values = {"build_schema": settings.build_schema, "source_schema": settings.source_schema, **(placeholders or {})}
    spec = load_suite(suite_name, values)
    docs_dir = settings.data_docs_dir
    context = _context(str(docs_dir))
    source = _datasource(context, url)
    name = f"{suite_name}:{target}:{uuid.uuid4().hex[:8]}"
    batch = source.add_query_asset(name=name, query=query).add_batch_definition_whole_table("all")
    suite = context.suites.add_or_update(
        gx.ExpectationSuite(
            name=f"{spec['name']}",
            expectations=[
                ExpectationConfiguration(type=e["type"], kwargs=e["kwargs"], meta=e.get("meta", {})).to_domain_obj()
                for e in spec["expectations"]
            ],
        )
    )
    validation = context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=suite))
    checkpoint = context.checkpoints.add(
        # COMPLETE: unexpected-rows expectations only return the failing rows in this format.
        gx.Checkpoint(name=name, validation_definitions=[validation], result_format="COMPLETE")
    )
    result_id, result = next(iter(checkpoint.run(expectation_parameters=parameters or {}).run_results.items()))
    failures = []
    for outcome in result.results:
        if outcome.success:
            continue
        details = outcome.result or {}
        unexpected_rows = (details.get("details") or {}).get("unexpected_rows")
        failures.append(
            {
                "expectation": outcome.expectation_config.type,
                "column": outcome.expectation_config.kwargs.get("column")
                or outcome.expectation_config.kwargs.get("column_list"),
                "unexpected_count": details.get("unexpected_count", details.get("observed_value")),
                "sample": [_plain(r) for r in (unexpected_rows or details.get("partial_unexpected_list") or [])][:5],
                # An expectation that could not be evaluated fails closed, with the reason.
                "error": (outcome.exception_info or {}).get("exception_message")
                if (outcome.exception_info or {}).get("raised_exception")
                else None,
            }
        )
    context.checkpoints.delete(name)
    context.validation_definitions.delete(name)
    source.delete_asset(name)
    return SuiteRun(
        suite=suite_name,
        target=target,
        success=bool(result.success),
        evaluated=len(result.results),
        failures=failures,
        result_id=result_id,
    )


def build_data_docs(settings: Settings, runs: list[SuiteRun]) -> str:
    """Render the Data Docs pages of these validations (and the index) to $COLISEUM_HOME/data_docs; returns the
    index URL. Only their pages: re-rendering every validation of a long-lived process grows with its age."""
    docs_dir = settings.data_docs_dir
    _context(str(docs_dir)).build_data_docs(resource_identifiers=[run.result_id for run in runs])
    return (docs_dir / "index.html").as_uri()


def _plain(value: Any) -> Any:
    """JSON-safe sample values (rows come back as dicts of UUIDs, Decimals, dates)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def suite_files() -> list[Path]:
    return sorted(SUITES_DIR.glob("*.json"))
