"""Metrics, threshold choice and the per-source / per-language leave-one-source-out reports."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score


def choose_thresholds(y: np.ndarray, prob: np.ndarray, weight: np.ndarray, params) -> dict:
    """Thresholds from held-out (LOSO) probabilities, sources weighted as in training.

    flag: the lowest score whose flagged set reaches params.flag_precision while still catching
    params.min_flag_recall of the positives; when no score does (spam on unseen sources), the
    score maximising F0.5 (precision counts twice as much as recall) is used instead.
    auto_spam: the lowest score reaching params.auto_precision with at least 1 % recall, else
    1.0, which no calibrated probability reaches: automatic action stays off for that head.
    auto_approve: the highest score below which at most 1 - params.approve_recall of the
    positives fall. What each threshold achieved on the held-out data is recorded beside it.
    """
    order = np.argsort(-prob, kind="stable")
    p, yy, ww = prob[order], y[order], weight[order]
    tp = np.cumsum(ww * yy)
    fp = np.cumsum(ww * (1 - yy))
    # Only cut between distinct scores: a threshold means "score >= t".
    last = np.r_[p[1:] != p[:-1], True]
    p, tp, fp = p[last], tp[last], fp[last]
    precision = tp / np.maximum(tp + fp, 1e-12)
    recall = tp / max(tp[-1], 1e-12)

    def point(i: int, rule: str) -> dict:
        return {"threshold": float(p[i]), "precision": float(precision[i]),
                "recall": float(recall[i]), "rule": rule}

    ok = np.flatnonzero((precision >= params.flag_precision) & (recall >= params.min_flag_recall))
    if len(ok):
        flag = point(ok[-1], f"precision >= {params.flag_precision}")
    else:
        f05 = 1.25 * precision * recall / np.maximum(0.25 * precision + recall, 1e-12)
        flag = point(int(np.argmax(f05)), f"max F0.5 (precision {params.flag_precision} not reached)")
    ok = np.flatnonzero((precision >= params.auto_precision) & (recall >= 0.01))
    if len(ok):
        auto = point(ok[-1], f"precision >= {params.auto_precision}")
    else:
        auto = {"threshold": 1.0, "precision": None, "recall": 0.0,
                "rule": f"precision {params.auto_precision} not reached: disabled"}
    reach = np.flatnonzero(recall >= params.approve_recall)
    approve = point(reach[0] if len(reach) else len(p) - 1, f"recall >= {params.approve_recall}")
    return {
        "flag": flag["threshold"], "auto_spam": auto["threshold"], "auto_approve": approve["threshold"],
        "achieved": {"flag": flag, "auto_spam": auto, "auto_approve": approve},
    }


def binary_metrics(y: np.ndarray, prob: np.ndarray, threshold: float | None = None) -> dict:
    """ROC-AUC, PR-AUC and, given a threshold, precision / recall / F1 of `prob >= threshold`."""
    y = np.asarray(y)
    prob = np.asarray(prob, dtype=float)
    out: dict = {"n": int(len(y)), "positives": int(y.sum())}
    both = 0 < y.sum() < len(y)
    out["roc_auc"] = float(roc_auc_score(y, prob)) if both else None
    out["pr_auc"] = float(average_precision_score(y, prob)) if both else None
    if threshold is not None:
        pred = prob >= threshold
        tp = int((pred & (y == 1)).sum())
        precision = tp / pred.sum() if pred.sum() else None
        recall = tp / y.sum() if y.sum() else None
        f1 = (2 * precision * recall / (precision + recall)
              if precision is not None and recall is not None and precision + recall > 0 else None)
        out.update(precision=precision, recall=recall, f1=f1)
    return out


def loso_report(oof: dict, thresholds: dict) -> dict:
    """For each head: LOSO metrics of ours vs the baseline, by held-out group, source and language.

    The baseline has no calibrated threshold of its own, so its precision and recall are taken at
    0.5 and only its AUCs are strictly comparable with ours.
    """
    report: dict = {}
    for head, res in oof.items():
        y, ours, base = res["y"], res["ours"], res["baseline"]
        flag = thresholds[head]["flag"]
        has_base = not np.isnan(base).all()

        def pair(mask):
            row = {"ours": binary_metrics(y[mask], ours[mask], flag)}
            if has_base:
                row["baseline"] = binary_metrics(y[mask], base[mask], 0.5)
            return row

        tables = {"overall": pair(np.ones(len(y), dtype=bool))}
        for key, column in (("group", "group"), ("source", "source"), ("language", "lang")):
            tables[key] = {v: pair(res[column] == v) for v in dict.fromkeys(res[column])}
        report[head] = tables
    return report


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.3f}"


def markdown_tables(report: dict) -> str:
    """The LOSO report as Markdown tables, one per head and breakdown."""
    lines: list[str] = []
    for head, tables in report.items():
        for key in ("group", "language", "source"):
            lines += [f"#### {head}: held out by {key}", "",
                      "| " + key + " | n | pos | ROC-AUC ours | ROC-AUC baseline | PR-AUC ours | PR-AUC baseline"
                      " | P@flag | R@flag |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
            rows = dict(tables[key])
            rows["**all**"] = tables["overall"]
            for name, row in rows.items():
                o, b = row["ours"], row.get("baseline", {})
                lines.append(
                    f"| {name} | {o['n']} | {o['positives']} | {_fmt(o['roc_auc'])} | {_fmt(b.get('roc_auc'))}"
                    f" | {_fmt(o['pr_auc'])} | {_fmt(b.get('pr_auc'))} | {_fmt(o.get('precision'))}"
                    f" | {_fmt(o.get('recall'))} |")
            lines.append("")
    return "\n".join(lines)


def evaluate_file(model, texts: list[str], labels: np.ndarray, head: str,
                  langs: list[str] | None = None) -> dict:
    """Metrics of the shipped model on a labelled file, overall and per language."""
    results = model.score_many(texts)
    prob = np.array([getattr(r, head) for r in results])
    langs_used = np.array(langs if langs else [r.language for r in results])
    threshold = model.thresholds[head]["flag"]
    out = {"head": head, "threshold": threshold, "model": model.version,
           "language_from": "file" if langs else "detected",
           "overall": binary_metrics(labels, prob, threshold), "per_language": {}}
    for lang in sorted(set(langs_used)):
        mask = langs_used == lang
        out["per_language"][lang] = binary_metrics(labels[mask], prob[mask], threshold)
    return out
