"""Learning's shape: small modules with a one-line docstring; only its web and command edges know Flask."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "moderation" / "learning"
FLASK_AWARE = {"__init__.py", "console.py", "commands.py", "background.py"}


def _imports(path: Path, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_every_learning_module_opens_with_a_one_line_docstring_and_stays_small():
    for path in PACKAGE.glob("*.py"):
        docstring = ast.get_docstring(ast.parse(path.read_text()))
        assert docstring and "\n" not in docstring.strip(), path.name
        assert len(path.read_text().splitlines()) <= 300, path.name


def test_only_the_edges_know_flask():
    for path in PACKAGE.glob("*.py"):
        if path.name not in FLASK_AWARE:
            assert not any(n == "flask" or n.startswith("flask.") for n in _imports(path)), path.name


def test_what_core_calls_loads_no_machine_learning_library():
    # core/review.py calls labels.record_labels_for_decisions (a registered listener) in a decision's transaction.
    for name in ("labels.py", "models.py"):
        imported = _imports(PACKAGE / name, top_level_only=True)
        assert not any(n.startswith(("sklearn", "numpy", "scipy", "skops", "moderation.classifier"))
                       for n in imported), name
