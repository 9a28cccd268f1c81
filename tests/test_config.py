"""Settings whose defaults depend on the machine, the environment's say over them, and values refused at start."""
from __future__ import annotations

import pytest

from moderation import config
from moderation.config import load_config, scoring_processes_for


def test_scoring_processes_default_to_one_per_core_the_server_leaves_at_most_four():
    assert [scoring_processes_for(cores) for cores in (1, 2, 3, 5, 16)] == [1, 1, 2, 4, 4]


def test_the_scoring_processes_default_follows_the_usable_cores_and_the_environment_wins(monkeypatch, tmp_path):
    monkeypatch.setattr(config, "_usable_cores", lambda: 3)
    environ = {"MODERATION_INSTANCE_DIR": str(tmp_path), "MODERATION_SECRET_KEY": "x"}
    assert load_config(environ)["MODERATION_SCORING_PROCESSES"] == 2
    assert load_config({**environ, "MODERATION_SCORING_PROCESSES": "0"})["MODERATION_SCORING_PROCESSES"] == 0
    assert load_config(environ, {"SCORING_PROCESSES": 5})["MODERATION_SCORING_PROCESSES"] == 5


def test_a_negative_memory_map_size_is_refused_at_start():
    with pytest.raises(ValueError, match="0 or more"):
        load_config({"MODERATION_SQLITE_MMAP_MB": "-1"})
