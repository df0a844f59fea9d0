"""Data Docs pages made offline: CDN tags replaced by the vendored copies, GX's short icon path repaired."""

from __future__ import annotations

from dagster_project.defs.quality.gx import offline_html

PAGE = """<head>
<link rel="shortcut icon" href="../../../static/images/favicon.ico" type="image/x-icon"/>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/bootstrap@4.3.1/dist/css/bootstrap.min.css"/>
<script src="https://code.jquery.com/jquery-3.4.1.min.js"></script>
<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>
</head>"""


def test_a_validation_page_links_only_local_assets():
    html = offline_html(PAGE, "../../../../static/vendor")
    assert '<link rel="shortcut icon" href="../../../../static/images/favicon.ico"' in html
    assert '<link rel="stylesheet" href="../../../../static/vendor/bootstrap.min.css">' in html
    assert '<script src="../../../../static/vendor/jquery.min.js"></script>' in html
    assert "https://" not in html and "vega" not in html  # charts are dropped, not fetched


def test_the_index_page_keeps_its_own_depth():
    html = offline_html(
        '<link rel="shortcut icon" href="static/images/favicon.ico" type="image/x-icon"/>', "static/vendor"
    )
    assert 'href="static/images/favicon.ico"' in html
