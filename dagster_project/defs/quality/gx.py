"""Great Expectations (1.x, run directly) against Postgres: suites are JSON data in `expectations/`.

A suite file may use {{build_schema}}, {{source_schema}} and the caller's placeholders inside SQL strings
(the unexpected-rows expectations); values are validated identifiers, dates or SQL the checks build from
them, substituted (JSON-escaped) before parsing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
import warnings
from dataclasses import dataclass, field
from functools import cache, partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlparse

from psycopg.conninfo import conninfo_to_dict

from dagster_project.settings import PROJECT_ROOT, Settings

SUITES_DIR = PROJECT_ROOT / "expectations"
DOCS_STATIC = Path(__file__).with_name("data_docs_static")
DOCS_SITE = "coliseum"


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
            plural = "" if self.evaluated == 1 else "s"
            return f"{self.suite} on {self.target}: {self.evaluated} expectation{plural} passed"
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
        # Substituted inside JSON strings: escaped as one (a SQL value may quote an identifier).
        text = text.replace("{{" + key + "}}", json.dumps(value)[1:-1])
    return json.loads(text)


def _view(class_name: str) -> dict[str, str]:
    """A page view of gx_views.py: GX's own, with the compiled templates shared across pages."""
    return {"module_name": "dagster_project.defs.quality.gx_views", "class_name": class_name}


@cache
def _context(docs_dir: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.add_data_docs_site(
        site_name=DOCS_SITE,
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": docs_dir},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "view": _view("IndexPageView")},
            "site_section_builders": {
                section: {"view": _view("PageView")} for section in ("expectations", "validations", "profiling")
            },
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
    run_name: str | None = None,
) -> SuiteRun:
    """Validate the rows `query` returns against the suite; never raises on failure. `run_name` (the Dagster
    run id) names the validation in Data Docs, so a page leads back to its run."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
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
    checked = checkpoint.run(expectation_parameters=parameters or {}, run_id=RunIdentifier(run_name=run_name))
    result_id, result = next(iter(checked.run_results.items()))
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


def build_data_docs(settings: Settings, run: SuiteRun) -> str:
    """Render the Data Docs page of this validation (and the index) under $COLISEUM_HOME/data_docs, readable
    offline; returns the page's URL under COLISEUM_DATA_DOCS_URL (`coliseum ui` serves the folder there).
    Pages are kept: each validation has its own (suite / run name / run time / batch), and only this one is
    rendered (re-rendering every validation of a long-lived process grows with its age)."""
    docs_dir = settings.data_docs_dir
    context = _context(str(docs_dir))
    # Only our site: an ephemeral context also has GX's default one, which rendered every page a second time
    # into a temporary folder.
    context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=[run.result_id])
    url = context.get_docs_sites_urls(resource_identifier=run.result_id, site_name=DOCS_SITE)[0]["site_url"]
    # The page's path from validations/ on: where the site builder wrote it in docs_dir.
    site_path = unquote(urlparse(url).path)
    relative = site_path[site_path.index("/validations/") + 1 :]
    page = docs_dir / relative
    _vendor(docs_dir)
    for html in (page, docs_dir / "index.html"):
        vendor = Path(os.path.relpath(docs_dir / "static" / "vendor", html.parent)).as_posix()
        html.write_text(offline_html(html.read_text(), vendor))
    return settings.data_docs_url.rstrip("/") + "/" + quote(relative)


# GX's page templates load Bootstrap, jQuery, bootstrap-table, Font Awesome, Vega and images from CDNs: each
# is replaced by a local file (static/vendor: Bootstrap and jQuery from their XStatic packages, stand-ins of
# ours for the table and the icons) or dropped, so a page opens on a machine with no network.
_REMOTE_TAG = re.compile(r'<(link|script|img)\b[^>]*\b(?:href|src)="(https?://[^"]*)"[^>]*>(\s*</script>)?', re.I)
_LOCAL = {
    "bootstrap.min.css": '<link rel="stylesheet" href="{vendor}/bootstrap.min.css">',
    "jquery-": '<script src="{vendor}/jquery.min.js"></script>',
    "bootstrap/4.3.1/js/bootstrap.min.js": '<script src="{vendor}/bootstrap.bundle.min.js"></script>',
    "bootstrap-table.min.js": '<script src="{vendor}/table.js"></script>',
    "font-awesome": '<link rel="stylesheet" href="{vendor}/icons.css">',
}


# GX links a validation page's icon one folder short of its static/ (a 404 on every page): pointed at static/.
_FAVICON = re.compile(r'(<link rel="shortcut icon" href=")[^"]*(/images/favicon\.ico")')


def offline_html(html: str, vendor: str) -> str:
    """The page with local assets only; `vendor` is static/vendor relative to the page."""

    def local(match: re.Match) -> str:
        url = match.group(2)
        return next((tag.format(vendor=vendor) for key, tag in _LOCAL.items() if key in url), "")

    static = vendor.removesuffix("/vendor")
    return _FAVICON.sub(lambda m: m.group(1) + static + m.group(2), _REMOTE_TAG.sub(local, html))


def _vendor(docs_dir: Path) -> None:
    import xstatic.pkg.bootstrap
    import xstatic.pkg.jquery

    files = {
        "bootstrap.min.css": Path(xstatic.pkg.bootstrap.BASE_DIR) / "css" / "bootstrap.min.css",
        "bootstrap.bundle.min.js": Path(xstatic.pkg.bootstrap.BASE_DIR) / "js" / "bootstrap.bundle.min.js",
        "jquery.min.js": Path(xstatic.pkg.jquery.BASE_DIR) / "jquery.min.js",
        "table.js": DOCS_STATIC / "table.js",
        "icons.css": DOCS_STATIC / "icons.css",
    }
    vendor = docs_dir / "static" / "vendor"
    vendor.mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        target = vendor / name
        if not target.exists() or target.stat().st_size != source.stat().st_size:
            shutil.copyfile(source, target)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


def data_docs_server(settings: Settings) -> ThreadingHTTPServer:
    """An HTTP server for $COLISEUM_HOME/data_docs on COLISEUM_DATA_DOCS_URL's port (what the checks link to);
    the caller runs `serve_forever` (a thread of `coliseum ui`). Raises OSError when the port is taken."""
    settings.data_docs_dir.mkdir(parents=True, exist_ok=True)
    address = urlparse(settings.data_docs_url)
    handler = partial(_QuietHandler, directory=str(settings.data_docs_dir))
    return ThreadingHTTPServer((address.hostname or "localhost", address.port or 80), handler)


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
