"""Model artifacts: skops save/load with trusted types and sha256, metadata JSON, CURRENT pointer."""

from __future__ import annotations

import json
import platform
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import scipy
import sklearn
import skops
import skops.io as sio

from .dataset import sha256_file

FORMAT = 1
CURRENT = "CURRENT"
# The artifact holds only numpy arrays, builtins and LogisticRegression objects, none of which
# skops considers untrusted; the list is kept explicit (and empty) so that anything else in a
# file, e.g. a function reference or an unknown class, makes loading fail.
TRUSTED_TYPES: list[str] = []


class ModelUnavailable(Exception):
    """The model cannot be used: missing, corrupt, tampered with, or built for other libraries."""


def artifact_paths(models_dir: Path, version: str) -> dict[str, Path]:
    models_dir = Path(models_dir)
    return {
        "skops": models_dir / f"{version}.skops",
        "json": models_dir / f"{version}.json",
        "card": models_dir / f"{version}.md",
        "roc": models_dir / f"{version}-roc.png",
    }


def next_version(models_dir: Path, today: datetime | None = None) -> str:
    """YYYY.MM.DD-N with N one more than any artifact of that day already present."""
    day = (today or datetime.now(timezone.utc)).strftime("%Y.%m.%d")
    taken = [p.stem.split("-", 1)[1] for p in Path(models_dir).glob(f"{day}-*.json")]
    numbers = [int(t) for t in taken if t.isdigit()]
    return f"{day}-{max(numbers, default=0) + 1}"


def payload_of(trained, version: str) -> dict:
    """What goes in the .skops file. Terms are one UTF-8 blob: a 250k-key dict in skops'
    JSON schema would take seconds to load, a byte array takes milliseconds."""
    heads = {}
    for head, clf in trained.heads.items():
        clf.coef_ = clf.coef_.astype(np.float32)
        heads[head] = clf
    trained.language.coef_ = trained.language.coef_.astype(np.float32)
    return {
        "format": FORMAT,
        "version": version,
        "terms": np.frombuffer("\n".join(trained.terms.tolist()).encode("utf-8"), dtype=np.uint8).copy(),
        "idf": np.asarray(trained.idf, dtype=np.float64),
        "heads": heads,
        "language": trained.language,
        "thresholds": {h: {k: float(v) for k, v in t.items() if k != "achieved"}
                       for h, t in trained.thresholds.items()},
    }


def library_versions() -> dict:
    return {"python": platform.python_version(), "scikit-learn": sklearn.__version__,
            "numpy": np.__version__, "scipy": scipy.__version__, "skops": skops.__version__}


def save(payload: dict, models_dir: Path, metadata: dict) -> dict:
    """Write <version>.skops and <version>.json; return the metadata as written."""
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    paths = artifact_paths(models_dir, payload["version"])
    if paths["skops"].exists() or paths["json"].exists():
        raise FileExistsError(f"artifact {payload['version']} already exists; versions are never overwritten")
    sio.dump(payload, paths["skops"], compression=zipfile.ZIP_DEFLATED)
    metadata = dict(metadata)
    metadata.update(
        format=FORMAT, version=payload["version"],
        artifact={"file": paths["skops"].name, "sha256": sha256_file(paths["skops"]),
                  "bytes": paths["skops"].stat().st_size},
        libraries=library_versions(), trusted_types=TRUSTED_TYPES,
    )
    paths["json"].write_text(json.dumps(metadata, indent=1, ensure_ascii=False, default=_json_default) + "\n",
                             encoding="utf-8")
    return metadata


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def read_current(models_dir: Path) -> str:
    path = Path(models_dir) / CURRENT
    try:
        version = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ModelUnavailable(f"no {CURRENT} file in {models_dir}: {exc}") from exc
    if not version or "/" in version or "\\" in version or version.startswith("."):
        raise ModelUnavailable(f"{path} does not name a model version")
    return version


def write_current(models_dir: Path, version: str) -> None:
    (Path(models_dir) / CURRENT).write_text(version + "\n", encoding="utf-8")


def load_payload(models_dir: Path, version: str | None = None) -> tuple[dict, dict]:
    """Verify and load an artifact; return (payload, metadata). Raises ModelUnavailable."""
    version = version or read_current(models_dir)
    paths = artifact_paths(models_dir, version)
    try:
        metadata = json.loads(paths["json"].read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"model {version}: cannot read metadata {paths['json'].name}: {exc}") from exc
    if not paths["skops"].is_file():
        raise ModelUnavailable(f"model {version}: artifact {paths['skops'].name} is missing")
    expected = metadata.get("artifact", {}).get("sha256")
    actual = sha256_file(paths["skops"])
    if actual != expected:
        raise ModelUnavailable(f"model {version}: sha256 of {paths['skops'].name} is {actual}, "
                               f"metadata says {expected}; refusing to load")
    trained_with = metadata.get("libraries", {}).get("scikit-learn", "")
    if trained_with.split(".")[:2] != sklearn.__version__.split(".")[:2]:
        raise ModelUnavailable(f"model {version} was trained with scikit-learn {trained_with}, "
                               f"this process has {sklearn.__version__}; retrain or pin the version")
    # The analyser is code, not part of the file: a model trained with other character n-gram
    # sizes would be fed terms it never saw.
    from .features import CHAR_NGRAM_RANGE

    expected_grams = "{}-{}".format(*CHAR_NGRAM_RANGE)
    trained_grams = metadata.get("params", {}).get("char_ngrams", expected_grams)
    if trained_grams != expected_grams:
        raise ModelUnavailable(f"model {version} uses character {trained_grams}-grams, this code "
                               f"computes {expected_grams}-grams; retrain")
    try:
        untrusted = sio.get_untrusted_types(file=paths["skops"])
        unexpected = sorted(set(untrusted) - set(TRUSTED_TYPES))
        if unexpected:
            raise ModelUnavailable(f"model {version}: untrusted types in artifact: {', '.join(unexpected)}")
        payload = sio.load(paths["skops"], trusted=TRUSTED_TYPES)
    except ModelUnavailable:
        raise
    except Exception as exc:  # skops raises many kinds of errors on a damaged file
        raise ModelUnavailable(f"model {version}: cannot load {paths['skops'].name}: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or payload.get("version") != version:
        raise ModelUnavailable(f"model {version}: unexpected artifact content or format")
    return payload, metadata
