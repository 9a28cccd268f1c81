"""Webhooks depend on core, never the reverse; only the API, CLI and wiring modules know Flask."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "moderation"
FLASK_AWARE = {"api.py", "commands.py", "__init__.py"}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_core_never_imports_webhooks():
    for path in (PACKAGE / "core").glob("*.py"):
        assert not any(name.startswith("moderation.webhooks") for name in _imports(path)), path.name


def test_webhook_rules_know_nothing_of_flask():
    for path in (PACKAGE / "webhooks").glob("*.py"):
        if path.name not in FLASK_AWARE:
            assert not any(name == "flask" or name.startswith("flask.") for name in _imports(path)), path.name


def test_every_webhooks_module_opens_with_a_one_line_docstring_and_stays_small():
    for path in (PACKAGE / "webhooks").glob("*.py"):
        docstring = ast.get_docstring(ast.parse(path.read_text()))
        assert docstring and "\n" not in docstring.strip(), path.name
        assert len(path.read_text().splitlines()) <= 300, path.name
