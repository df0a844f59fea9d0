"""The package's layout rules (DESIGN.md, "Layout"): settings.py is the only reader of the environment."""

from __future__ import annotations

import ast
from pathlib import Path

import dagster_project

PACKAGE = Path(dagster_project.__file__).parent
READERS = {"environ", "getenv", "environb", "getenvb"}


def environment_reads(path: Path) -> list[str]:
    """`os.environ`, `os.getenv`, and `from os import environ/getenv` in the code (comments and docstrings
    may name them)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in READERS
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ):
            found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: os.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [
                f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: from os import {alias.name}"
                for alias in node.names
                if alias.name in READERS
            ]
    return found


def test_only_settings_reads_the_environment():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 30
    reads = [hit for path in modules if path != PACKAGE / "settings.py" for hit in environment_reads(path)]
    assert reads == []
    assert environment_reads(PACKAGE / "settings.py"), "the check finds the one reader"


def test_old_modules_are_gone():
    for old in ("database.py", "sources.py", "nightly.py", "late_data.py", "publish.py", "sensors.py", "cli.py"):
        assert not (PACKAGE / old).exists(), old
