"""Configuration: defaults, then MODERATION_* environment variables, then a test mapping."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

PREFIX = "MODERATION_"
REPO_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(value: str) -> int:
    return int(value.strip())


def _choice(*allowed: str):
    def parse(value: str) -> str:
        value = value.strip().lower()
        if value not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}, got {value!r}")
        return value
    return parse


def _count(value: str) -> int:
    number = int(value.strip())
    if number < 0:
        raise ValueError(f"expected 0 or more, got {number}")
    return number


def _usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def scoring_processes_for(cores: int) -> int:
    """The default number of scoring processes: one per core the server's own process leaves, 1 to 4."""
    return min(4, max(1, cores - 1))


def _float(value: str) -> float:
    return float(value.strip())


# name -> (default, parser). Every setting the service reads lives here and nowhere else.
SETTINGS: dict[str, tuple[object, object]] = {
    "DATABASE_URL": (None, str),
    "INSTANCE_DIR": (None, str),
    "SECRET_KEY": (None, str),
    "HOST": ("127.0.0.1", str),
    "PORT": (8080, _int),
    # Waitress threads. Intake threads mostly wait for the group commit (moderation/intake_writer.py),
    # and the writer can only batch what is in flight: at 32 clients, 32 threads wrote batches four
    # times larger than 8 threads did and served 35-40 % more comments (bench/README.md, "Intake").
    "THREADS": (32, _int),
    "MODELS_DIR": (str(REPO_MODELS_DIR), str),
    "MODEL_VERSION": (None, str),
    "MODEL_REQUIRED": (False, _bool),
    "SCORING_TIMEOUT_MS": (250, _int),
    # Worker processes that score comments for `serve` (moderation/scoring_pool.py) when the
    # intake writer is not a process (which scores its batches itself); 0 scores in the request
    # threads. Each holds its own copy of the model (~290 MB resident). By default one per core
    # the server's own (GIL-bound) process leaves, at most 4: since the writer scores a
    # whole batch at once, one worker beat three on 2 cores (SQLite, c=8 0.283 -> 0.308, c=32
    # 0.368 -> 0.403; PostgreSQL c=8 equal; bench/README.md, "Intake", tenth session).
    "SCORING_PROCESSES": (None, _int),  # None: scoring_processes_for(usable cores)
    # Where `serve` writes intake batches: "process" (a child, moderation/intake_process.py, which
    # also scores them), "thread" (moderation/intake_writer.py) or "auto" (cli._writer_in_process):
    # a child on PostgreSQL, where it served 40-45 % more comments, and on SQLite when a model is
    # loaded, where scoring in the child served 8 % more at 8 clients (0.346 -> 0.374 of the
    # ceiling, fifteenth session); a thread on SQLite without a model, where a child serves fewer
    # (0.437 -> 0.422 at 8 clients, 0.527 -> 0.456 at 32). Moderators, arbitrated with a child by
    # SQLite's busy handler instead of this process's write lock, wait longer under full intake
    # (bench/mixed_load.py: decisions p99 45 -> 71 ms, fifteenth session).
    "INTAKE_WRITER": ("auto", _choice("auto", "process", "thread")),
    "EMAIL_CHECK_DELIVERABILITY": (False, _bool),
    "FLOOD_INTERVAL_SECONDS": (15, _int),
    "RATELIMIT_INTAKE": ("600 per minute", str),
    "RATELIMIT_STORAGE_URL": ("inline-memory://", str),
    "IDEMPOTENCY_TTL_HOURS": (24, _int),
    "AUTO_APPROVE": (False, _bool),
    "AUTO_SPAM": (False, _bool),
    "DB_BUSY_TIMEOUT_MS": (5000, _int),
    # SQLite reads the database file through a memory map of up to this size (PRAGMA mmap_size)
    # instead of a read() per page: the intake writer's index look-ups cost a system call each
    # (8 per comment once the file outgrew the page cache). 0 turns it off, for a file on a disk
    # whose I/O errors must not become a crash (SIGBUS): SQLite's "Memory-Mapped I/O" page.
    "SQLITE_MMAP_MB": (256, _count),
    # Webhooks (moderation/webhooks): delivery schedule in seconds between attempts, SSRF allow-list.
    "WEBHOOK_WORKER": (False, _bool),
    "WEBHOOK_ALLOWED_NETWORKS": ("", str),
    # Seconds before each attempt (Standard Webhooks' example schedule, about 27.6 h in all).
    "WEBHOOK_SCHEDULE": ("0,5,300,1800,7200,18000,36000,36000", str),
    "WEBHOOK_JITTER": (0.1, _float),
    "WEBHOOK_LEASE_SECONDS": (60, _int),
    "WEBHOOK_CONNECT_TIMEOUT_SECONDS": (5.0, _float),
    "WEBHOOK_TIMEOUT_SECONDS": (15.0, _float),
    "WEBHOOK_POLL_SECONDS": (1.0, _float),
    "WEBHOOK_COALESCE_MS": (50.0, _float),
    # One delivery in flight per worker process: a crash then repeats at most one delivery
    # (one thread already does ~290 deliveries/s on SQLite, bench/webhooks.py). More threads
    # help PostgreSQL throughput at the cost of up to that many duplicates per crash.
    "WEBHOOK_CONCURRENCY": (1, _int),
    "WEBHOOK_ROTATION_GRACE_HOURS": (24, _int),
    "WEBHOOK_METRICS_PORT": (0, _int),
    # Console cookies are Secure (__Host-) unless the console is served over plain http.
    "CONSOLE_SECURE_COOKIES": (True, _bool),
    # Learning from the site's own decisions (moderation/learning).
    "SITE_MODELS_DIR": (None, str),
    "RETRAIN_EVERY_LABELS": (200, _int),
    "RETRAIN_INTERVAL_HOURS": (168.0, _float),
    "PROMOTION_MARGIN": (0.01, _float),
    "MODEL_POLL_SECONDS": (5.0, _float),
}


def _instance_dir(value: str | None) -> Path:
    return Path(value) if value else Path.cwd() / "instance"


def _persistent_secret(instance_dir: Path) -> str:
    """Generate the secret key once and keep it in the instance folder (never hard-coded)."""
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def load_config(environ: dict[str, str] | None = None, overrides: dict | None = None) -> dict:
    """Return the Flask config mapping built from defaults, the environment and overrides."""
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for name, (default, parse) in SETTINGS.items():
        raw = environ.get(PREFIX + name)
        values[name] = parse(raw) if raw not in (None, "") else default
    for key, value in (overrides or {}).items():
        values[key.removeprefix(PREFIX)] = value
    if values["SCORING_PROCESSES"] is None:
        values["SCORING_PROCESSES"] = scoring_processes_for(_usable_cores())

    instance_dir = _instance_dir(values["INSTANCE_DIR"])
    values["INSTANCE_DIR"] = str(instance_dir)
    if not values["DATABASE_URL"]:
        instance_dir.mkdir(parents=True, exist_ok=True)
        values["DATABASE_URL"] = f"sqlite:///{instance_dir / 'moderation.sqlite3'}"
    if not values["SECRET_KEY"]:
        # Outside the embedded SQLite default a secret must come from the environment.
        if not str(values["DATABASE_URL"]).startswith("sqlite") and not values.get("TESTING"):
            raise RuntimeError(
                "MODERATION_SECRET_KEY must be set when MODERATION_DATABASE_URL is not SQLite"
            )
        values["SECRET_KEY"] = _persistent_secret(instance_dir)

    config = {f"MODERATION_{k}": v for k, v in values.items()}
    config.update(
        SECRET_KEY=values["SECRET_KEY"],
        SQLALCHEMY_DATABASE_URI=values["DATABASE_URL"],
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(str(values["DATABASE_URL"]), values),
        MAX_CONTENT_LENGTH=64 * 1024,
        RATELIMIT_STORAGE_URI=values["RATELIMIT_STORAGE_URL"],
        RATELIMIT_HEADERS_ENABLED=False,
        API_TITLE="Comment moderation API",
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "components": {"securitySchemes": {"siteKey": {"type": "http", "scheme": "bearer"}}},
            "security": [{"siteKey": []}],
            "info": {"description": "Intake, status and public threads of comments for news sites."},
        },
        TESTING=bool(values.get("TESTING", False)),
    )
    return config


def _engine_options(url: str, values: dict) -> dict:
    # Every waitress thread, the webhook worker's threads and the model watcher may each hold a
    # connection at once; a pool that is too small makes requests queue for it (the default
    # 30 s wait showed up as 30 s stalls in bench/intake.py). Wait at most 5 s, then answer 503.
    pool = {"pool_size": int(values["THREADS"]) + 8, "max_overflow": 16, "pool_timeout": 5}
    if url.startswith("sqlite"):
        # busy timeout (seconds) lets concurrent writers wait instead of failing at once.
        return {**pool, "connect_args": {"timeout": values["DB_BUSY_TIMEOUT_MS"] / 1000, "check_same_thread": False}}
    return {**pool, "pool_pre_ping": True, "connect_args": {"connect_timeout": 5}}
