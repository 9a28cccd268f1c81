"""Scoring benchmark: model.score (fast path) vs scikit-learn predict_proba, one comment per call."""

import os

# One core, as the request path runs: keep BLAS from spreading over threads.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from moderation.classifier import load_model  # noqa: E402

# Hand-written 500-character comment in the target style (French with a little Darija).
COMMENT = (
    "Je lis ce journal depuis des années et je dois dire que cet article sur la réforme des "
    "retraites m'a laissé perplexe. Le gouvernement parle de justice sociale, mais les petits "
    "salaires vont encore payer pour les autres. Mon père a travaillé quarante ans à Casablanca "
    "et touche à peine de quoi vivre. Wallah had chi machi m3qoul. Pourquoi ne pas taxer les "
    "grandes fortunes avant de toucher aux retraités ? J'aimerais que le journaliste pose la "
    "question au ministre la prochaine fois, merci. Et arrêtez de supprimer les commentaires !"
)


REFERENCE_SKLEARN_US = 650  # sklearn's single-sample predict_proba where the targets were measured


def timed(fn, n):
    samples = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t0) / 1000.0)
    samples.sort()
    return statistics.median(samples), samples[int(0.99 * (len(samples) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default=str(Path(__file__).resolve().parents[1] / "models"))
    parser.add_argument("-n", type=int, default=3000, help="calls per measurement")
    parser.add_argument("--pin", type=int, default=0, help="CPU to pin to (-1: do not pin)")
    args = parser.parse_args()
    if args.pin >= 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.pin})

    t0 = time.perf_counter()
    model = load_model(args.models)
    load_s = time.perf_counter() - t0
    text = COMMENT[:500]
    spam_pipe, abuse_pipe, lang_pipe = (model.pipeline(h) for h in ("spam", "abuse", "language"))

    fast = model.score(text)
    assert abs(fast.spam - spam_pipe.predict_proba([text])[0, 1]) <= 1e-9
    assert abs(fast.abuse - abuse_pipe.predict_proba([text])[0, 1]) <= 1e-9
    for _ in range(300):  # warm up caches and the allocator
        model.score(text)
        spam_pipe.predict_proba([text])

    fast_med, fast_p99 = timed(lambda: model.score(text), args.n)
    one_med, one_p99 = timed(lambda: spam_pipe.predict_proba([text]), args.n)

    def sklearn_all():
        spam_pipe.predict_proba([text])
        abuse_pipe.predict_proba([text])
        lang_pipe.predict_proba([text])

    all_med, all_p99 = timed(sklearn_all, max(args.n // 3, 100))

    batch = [COMMENT[: 80 + (i * 37) % 420] + f" {i}" for i in range(10_000)]
    t0 = time.perf_counter()
    model.score_many(batch)
    batch_s = time.perf_counter() - t0

    pinned = f"pinned to CPU {args.pin}" if args.pin >= 0 else "not pinned"
    print(f"model {model.version}, comment of {len(text)} characters, {args.n} calls, {pinned}")
    print(f"load_model: {load_s:.2f} s")
    print(f"{'':44}{'median µs':>11}{'p99 µs':>10}")
    print(f"{'model.score (2 heads + language + explanation)':44}{fast_med:>11.1f}{fast_p99:>10.1f}")
    print(f"{'sklearn predict_proba, one head':44}{one_med:>11.1f}{one_p99:>10.1f}")
    print(f"{'sklearn predict_proba, 2 heads + language':44}{all_med:>11.1f}{all_p99:>10.1f}")
    print(f"ratio sklearn one head / model.score (median): {one_med / fast_med:.2f}x")
    print(f"ratio sklearn 3 pipelines / model.score (median): {all_med / fast_med:.2f}x")
    print(f"score_many: 10,000 comments in {batch_s:.2f} s")
    print(f"target median < 300 µs: {'met' if fast_med < 300 else 'NOT met'}; "
          f"p99 < 1000 µs: {'met' if fast_p99 < 1000 else 'NOT met'}")
    # The targets were set where sklearn's single call cost 650 µs; this machine is shared and its
    # speed varies by a factor of three, so the same targets are also judged against that call here.
    scale = one_med / REFERENCE_SKLEARN_US
    print(f"targets scaled to this run (sklearn one head {one_med:.0f} µs here vs {REFERENCE_SKLEARN_US} µs "
          f"where they were set, x{scale:.2f}): median < {300 * scale:.0f} µs: "
          f"{'met' if fast_med < 300 * scale else 'NOT met'}; p99 < {1000 * scale:.0f} µs: "
          f"{'met' if fast_p99 < 1000 * scale else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
