"""The plain command functions the CLI wraps: score and evaluate on the tiny model."""

import json

import pytest

from moderation.classifier import load_model
from moderation.classifier.commands import evaluate_command, format_evaluation, score_command


def test_score_command_reads_csv_and_writes_json_lines_in_order(tiny_models_dir, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text('text,author_name\n"buy cheap pills at www.deals.com",\n"the budget was well explained",Sophie\n',
                   encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert score_command(input=src, output=out, models_dir=tiny_models_dir) == 2
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [set(x) for x in lines] == [{"spam", "abuse", "language", "model"}] * 2
    model = load_model(tiny_models_dir)
    assert lines[0]["spam"] == pytest.approx(model.score("buy cheap pills at www.deals.com").spam, abs=1e-12)
    assert lines[0]["spam"] > lines[1]["spam"]


def test_score_command_reads_json_lines(tiny_models_dir, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "you are a stupid idiot"}\n\n{"text": "شكرا على المقال"}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert score_command(input=src, output=out, models_dir=tiny_models_dir) == 2
    first, second = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert first["abuse"] > second["abuse"]
    assert second["language"] == "ar"


def test_score_command_rejects_input_without_text(tiny_models_dir, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("body\nhello\n", encoding="utf-8")
    with pytest.raises(ValueError, match="text"):
        score_command(input=src, output=tmp_path / "o", models_dir=tiny_models_dir)


def test_evaluate_command_reports_overall_and_per_language(tiny_models_dir, tmp_path):
    data = tmp_path / "eval.csv"
    data.write_text("text,label,lang\n"
                    "you are a stupid idiot karim,1,en\n"
                    "i think the election plan is reasonable,0,en\n"
                    "ferme ta gueule espece de con,1,fr\n"
                    "article interessant sur le budget,0,fr\n", encoding="utf-8")
    result = evaluate_command(data=data, head="abuse", models_dir=tiny_models_dir)
    assert result["overall"]["n"] == 4 and result["overall"]["roc_auc"] == 1.0
    assert set(result["per_language"]) == {"en", "fr"}
    assert {"precision", "recall", "f1", "pr_auc"} <= set(result["overall"])
    text = format_evaluation(result)
    assert "overall" in text and "ROC-AUC" in text
    with pytest.raises(ValueError):
        evaluate_command(data=data, head="toxicity", models_dir=tiny_models_dir)
