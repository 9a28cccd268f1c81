"""The learning commands end to end: import wordpress, labels import, retrain, models list/promote/rollback."""
from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from moderation.cli import db as db_group
from moderation.cli import sites
from moderation.learning.commands import COMMANDS
from tests.learning.conftest import SITE_ABUSE, SITE_CLEAN, SITE_HAM, SITE_SPAM, site_text
from tests.learning.test_wordpress import CSV, WXR
from tests.test_cli import cli_env  # noqa: F401  (a fresh database for commands, SQLite or PostgreSQL)


@click.group()
def cli() -> None:
    pass


for command in (db_group, sites, *COMMANDS):
    cli.add_command(command)


@pytest.fixture
def run(cli_env, base_models_dir, monkeypatch):  # noqa: F811
    monkeypatch.setenv("MODERATION_MODELS_DIR", str(base_models_dir))
    runner = CliRunner()

    def invoke(*args, ok=True):
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert (result.exit_code == 0) is ok, result.output
        return result

    invoke("db", "upgrade")
    invoke("sites", "create", "Le Journal")
    return invoke


def test_import_wordpress_twice_then_a_malformed_file(run, tmp_path):
    (tmp_path / "export.xml").write_text(WXR, encoding="utf-8")
    (tmp_path / "wp_comments.csv").write_text(CSV, encoding="utf-8")
    first = run("import", "wordpress", str(tmp_path / "export.xml"), "--site", "Le Journal")
    assert "6 comments imported (2 replies), 5 labels; 0 already imported" in first.output
    again = run("import", "wordpress", str(tmp_path / "export.xml"), "--site", "Le Journal")
    assert "0 comments imported (0 replies), 0 labels; 6 already imported" in again.output
    csv_run = run("import", "wordpress", str(tmp_path / "wp_comments.csv"), "--site", "Le Journal")
    assert "5 comments imported (1 replies)" in csv_run.output and "1 duplicates merged" in csv_run.output

    (tmp_path / "bad.xml").write_text(WXR.replace("<wp:comment_approved>spam<", "<wp:comment_approved>junk<"),
                                      encoding="utf-8")
    bad = run("import", "wordpress", str(tmp_path / "bad.xml"), "--site", "Le Journal", ok=False)
    assert "bad.xml: line 33: <wp:comment> #3 (wp:comment_id 3): comment_approved 'junk'" in bad.output
    assert "nothing was imported" in bad.output
    assert "no site named 'Nope'" in run("import", "wordpress", str(tmp_path / "export.xml"), "--site", "Nope",
                                         ok=False).output


def test_labels_import_retrain_and_the_models_commands(run, tmp_path):
    lines = ["text,label,head,lang"]
    for k in range(150):
        positive = k % 2 == 0
        for head, (pos, neg) in (("spam", (SITE_SPAM, SITE_HAM)), ("abuse", (SITE_ABUSE, SITE_CLEAN))):
            text = (site_text(pos if positive else neg, k) + f" ({k})").replace('"', '""')
            lines.append(f'"{text}",{int(positive)},{head},fr')
    (tmp_path / "labels.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert "300 labels imported, 0 already present" in run("labels", "import", str(tmp_path / "labels.csv")).output
    assert "0 labels imported, 300 already present" in run("labels", "import", str(tmp_path / "labels.csv")).output

    retrained = run("retrain")
    version = next(w for w in retrained.output.split() if w.startswith("site-"))
    assert f"{version} promoted;" in retrained.output
    listing = run("models", "list").output.splitlines()
    assert listing[0].startswith(f"*\t{version}\tsite\tpromoted") and "promoted by cli" in listing[0]
    assert any(line.startswith(" \tbase-1\tbase\tshipped") for line in listing)

    assert f"rolled back to base-1 (from {version})" in run("models", "rollback").output
    assert "no promotion to roll back: the shipped model is in use" in run("models", "rollback", ok=False).output
    assert f"{version} promoted" in run("models", "promote", version).output
    assert "cannot promote nope" in run("models", "promote", "nope", ok=False).output
