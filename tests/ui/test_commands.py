"""`moderation moderators create|token` as an operator uses them."""
from __future__ import annotations

from click.testing import CliRunner

from moderation.cli import main
from tests.test_cli import cli_env  # noqa: F401  (fixture: a fresh instance folder and database)


def test_create_from_stdin_then_token_printed_once(cli_env):  # noqa: F811
    runner = CliRunner()
    created = runner.invoke(main, ["moderators", "create", "Nadia@Journal.fr", "--role", "moderator",
                                   "--password-stdin"], input="correct horse battery staple\n")
    assert created.exit_code == 0, created.output
    assert "moderator nadia@journal.fr created" in created.stderr
    token = runner.invoke(main, ["moderators", "token", "nadia@journal.fr"])
    assert token.exit_code == 0 and token.stdout.strip().startswith("mt_") and len(token.stdout.strip()) > 40
    again = runner.invoke(main, ["moderators", "token", "nadia@journal.fr"])
    assert again.stdout.strip() != token.stdout.strip()


def test_prompted_password_must_match_and_be_long_enough(cli_env):  # noqa: F811
    runner = CliRunner()
    mismatch = runner.invoke(main, ["moderators", "create", "a@journal.fr", "--role", "admin"],
                             input="correct horse battery staple\nsomething else entirely\n"
                                   "correct horse battery staple\ncorrect horse battery staple\n")
    assert mismatch.exit_code == 0 and "do not match" in mismatch.output
    short = runner.invoke(main, ["moderators", "create", "b@journal.fr", "--role", "admin", "--password-stdin"],
                          input="short\n")
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    unknown = runner.invoke(main, ["moderators", "token", "nobody@journal.fr"])
    assert unknown.exit_code != 0 and "no moderator" in unknown.output
