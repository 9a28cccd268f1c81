"""The `moderation` command as a newcomer and an operator use it."""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from click.testing import CliRunner

from moderation.cli import main
from tests.conftest import PG_URL, rebuild_pg_schema


@pytest.fixture
def cli_env(tmp_path, monkeypatch, pg_schema_ready):
    env = {"MODERATION_INSTANCE_DIR": str(tmp_path / "instance")}
    if PG_URL:
        env["MODERATION_DATABASE_URL"] = PG_URL
        env["MODERATION_SECRET_KEY"] = "cli-test-secret"
        rebuild_pg_schema(build=False)  # the CLI migrates it
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield env
    if PG_URL:  # give the other tests back the schema they expect
        rebuild_pg_schema()


def test_sites_create_prints_the_key_once_and_list_never_shows_it(cli_env):
    runner = CliRunner()
    created = runner.invoke(main, ["sites", "create", "Le Matin"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert key.startswith("mod_") and len(key) > 40
    listed = runner.invoke(main, ["sites", "list"])
    assert listed.exit_code == 0
    assert "Le Matin" in listed.output and key not in listed.output
    again = runner.invoke(main, ["sites", "create", "Le Matin"])
    assert again.exit_code != 0 and "already exists" in again.output


def test_db_upgrade_and_downgrade(cli_env):
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(main, ["db", "downgrade", "base"]).exit_code == 0
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_on_an_empty_database_prints_a_first_key_once_and_accepts_comments(cli_env):
    port = _free_port()
    env = {**os.environ, **cli_env, "MODERATION_PORT": str(port)}
    process = subprocess.Popen([sys.executable, "-m", "moderation.cli", "serve"], env=env,
                               stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        banner = ""
        while "Serving on" not in banner and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line and process.poll() is not None:
                break
            banner += line
        key = re.search(r"^\s+(mod_\S+)$", banner, re.M).group(1)
        assert "moderation sites create" in banner

        base = f"http://127.0.0.1:{port}"
        # Until its port is bound: after "Serving on" it still starts its workers (writer, scoring)
        # first, which took over 5 s on a loaded machine.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        body = json.dumps({"article_id": "1", "author_name": "Amina", "author_email": "amina@example.org",
                           "content": "Bravo"}).encode()
        request = urllib.request.Request(base + "/api/v1/comments", data=body, method="POST", headers={
            "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 202
            assert json.load(response)["status"] == "pending"
        with urllib.request.urlopen(base + "/readyz", timeout=5) as response:
            assert json.load(response)["checks"]["database"] == "ok"
    finally:
        process.terminate()
        process.wait(10)
        process.stderr.close()
        process.stdout.close()

    # A second start on the same database says nothing about a first key.
    second = subprocess.Popen([sys.executable, "-m", "moderation.cli", "serve"], env=env,
                              stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        output = ""
        while "Serving on" not in output:
            line = second.stderr.readline()
            if not line:
                break
            output += line
        assert "First start" not in output and "Serving on" in output
    finally:
        second.terminate()
        second.wait(10)
        second.stderr.close()


def test_score_reads_csv_or_json_lines_and_writes_one_line_per_input_in_order(tmp_path):
    rows = ["Très bon article, merci.", "Gagnez 500€ par jour, cliquez ici www.gain-facile.com",
            "espèce de connard", "يا حمار يا كلب"]
    csv_file = tmp_path / "comments.csv"
    csv_file.write_text("text\n" + "\n".join(f'"{r}"' for r in rows) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["score", str(csv_file)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 4
    assert set(lines[0]) == {"spam", "abuse", "language", "model"}
    assert lines[1]["spam"] > lines[0]["spam"] and lines[2]["abuse"] > lines[0]["abuse"]
    assert lines[3]["language"] == "ar"
    jsonl = "\n".join(json.dumps({"text": r}, ensure_ascii=False) for r in rows)
    from_stdin = CliRunner().invoke(main, ["score", "-"], input=jsonl)
    assert [json.loads(line) for line in from_stdin.stdout.splitlines()] == lines


def test_evaluate_prints_auc_and_threshold_metrics_per_language(tmp_path):
    data = tmp_path / "labelled.csv"
    data.write_text("text,label,lang\n" + "\n".join([
        "merci pour cet article,0,fr", "bravo la rédaction,0,fr", "ferme ta gueule connard,1,fr",
        "espèce de salope,1,fr", "thank you for the report,0,en", "you stupid idiot,1,en",
    ]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["evaluate", "--data", str(data), "--head", "abuse"])
    assert result.exit_code == 0, result.output
    assert "ROC-AUC" in result.output and "fr" in result.output and "en" in result.output


def test_waitress_queue_depth_warnings_are_kept_to_one_per_period(monkeypatch):
    """Under saturation waitress would log one warning per request; serve lets one through per period."""
    import logging

    from moderation import cli

    clock = iter([100.0, 100.5, 101.0, 131.0, 131.1])
    monkeypatch.setattr(cli.time, "monotonic", lambda: next(clock))
    once = cli._OncePer(seconds=30)
    record = logging.LogRecord("waitress.queue", logging.WARNING, __file__, 1, "Task queue depth is %d", (3,), None)
    assert [once.filter(record) for _ in range(5)] == [True, False, False, True, False]
