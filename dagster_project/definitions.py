"""The code location `dagster dev` loads: the settings are read here, once, from the environment. Importing it
reads the dbt manifest; it never runs dbt parse (`coliseum ui`, `coliseum run` and the tests prepare it)."""

from __future__ import annotations

from dagster_project.defs.code_location import build_defs
from dagster_project.settings import Settings

defs = build_defs(Settings.from_env())
