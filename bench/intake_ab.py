"""A/B of two checkouts on intake: their services alternate against one ceiling, several rounds.

Run from the repository root, after `git worktree add ../base <commit>`:
    .venv/bin/python bench/intake_ab.py --database sqlite --rounds 3 ../base .
Each checkout's service runs in that checkout (its working directory, and first on PYTHONPATH),
and the script checks that it imports that checkout's package; medians of the ratios are
printed at the end. A checkout may carry environment settings for its service, to compare
settings of one checkout:  . .@MODERATION_INTAKE_WRITER=thread
On a machine whose speed drifts within minutes, this compares code better
than two runs of bench/intake.py taken apart.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import intake  # noqa: E402
from loadgen import run  # noqa: E402


def _check_imports_from(root: str) -> None:
    """Refuse to compare a checkout whose service would import another checkout's package.

    (Until the seventh session the services ran in the caller's directory, and `python -m` put it
    first on sys.path: both sides of every A/B of two checkouts ran the caller's code.)"""
    found = subprocess.run([sys.executable, "-c", "import moderation; print(moderation.__file__)"], cwd=root,
                           env={**os.environ, "PYTHONPATH": root}, capture_output=True, text=True, check=True)
    if not Path(found.stdout.strip()).resolve().is_relative_to(Path(root).resolve()):
        raise SystemExit(f"{root}: the service would import {found.stdout.strip()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("checkouts", nargs="+", help="repository roots to compare")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--scoring", action="store_true", help="with the shipped classifier")
    args = parser.parse_args()
    variants = {}
    for spec in args.checkouts:
        root, _, settings = spec.partition("@")
        environment = dict(item.split("=", 1) for item in settings.split(",") if item)
        variants[spec] = (str(Path(root).resolve()), environment)
    roots = list(variants)
    for path, _environment in variants.values():
        _check_imports_from(path)
    ceiling, ceiling_port = intake.start_ceiling(8)
    ratios: dict[str, list[float]] = {root: [] for root in roots}
    try:
        for round_ in range(args.rounds):
            for root in roots:
                path, environment = variants[root]
                with tempfile.TemporaryDirectory() as tmp:
                    service, port, key, _env = intake.start_service(args.database, args.scoring, Path(tmp), Path(path),
                                                                    {"PYTHONPATH": path, **environment})
                    try:
                        base = run(ceiling_port, args.concurrency, args.seconds, {})
                        ours = run(port, args.concurrency, args.seconds, {"Authorization": f"Bearer {key}"})
                    finally:
                        intake.stop(service)
                ratios[root].append(ours["rps"] / base["rps"])
                print(f"round {round_} {root}: service {ours['rps']:.0f} req/s, ceiling {base['rps']:.0f} req/s,"
                      f" ratio {ratios[root][-1]:.3f}, errors {ours['errors']}", flush=True)
    finally:
        intake.stop(ceiling)
    for root, values in ratios.items():
        print(f"{root}: median ratio {statistics.median(values):.3f} ({', '.join(f'{v:.3f}' for v in values)})")


if __name__ == "__main__":
    main()
