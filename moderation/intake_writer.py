"""Group commit for intake: one thread per process writes the comments of every request, a batch per transaction."""
from __future__ import annotations

import logging
import queue
import threading
import time

import sqlalchemy as sa
from sqlalchemy.orm import Session

from moderation.core.db import UNAVAILABLE_ERRORS, transaction
from moderation.core.intake_writes import AcceptedComment, write_batch
from moderation.core.submissions import IntakeSettings, Submission, WriterClosed, score_deferred
from moderation.errors import DatabaseUnavailable

log = logging.getLogger(__name__)
EXTENSION = "moderation.intake_writer"
_STOP = object()


class _YoungTableStatistics:
    """PostgreSQL: ANALYZE the comments table each time it has doubled since its last statistics.

    Autovacuum analyses a table once a tenth of it has changed, on its next pass (every minute by
    default). Until then a young table's planner statistics say it is empty, and the flood check is
    read through the duplicate key's `site_id` prefix, filtering every comment of the site: 8 ms per
    batch at 5,500 comments and growing with the table (bench/intake.py, fresh database). Doubling
    keeps this to a few dozen ANALYZEs over the life of a database; afterwards autovacuum suffices."""

    def __init__(self, minimum: int = 1000) -> None:
        self.minimum = self.threshold = minimum
        self.written = 0

    def note(self, session, written: int) -> None:
        self.written += written
        if self.written < self.threshold:
            return
        self.written = 0
        try:
            with transaction(session):
                session.execute(sa.text("ANALYZE comments"))
                rows = session.scalar(sa.text("SELECT reltuples FROM pg_class WHERE oid = 'comments'::regclass"))
            self.threshold = max(self.minimum, int(rows or 0))
        except Exception:  # noqa: BLE001 - statistics are an optimisation; intake goes on without them
            log.warning("intake writer: ANALYZE comments failed", exc_info=True)


class Answer:
    """Where the writer leaves one request's result: a lock the request thread waits on.

    A concurrent.futures.Future does the same with a condition variable, a second lock and a
    notify loop, all under the GIL in the writer thread, once per comment."""

    __slots__ = ("_ready", "result", "error")

    def __init__(self) -> None:
        self._ready = threading.Lock()
        self._ready.acquire()
        self.result: AcceptedComment | None = None
        self.error: BaseException | None = None

    def done(self) -> bool:
        return not self._ready.locked()

    def set_result(self, result: AcceptedComment) -> None:
        self.result = result
        self._ready.release()

    def set_exception(self, error: BaseException) -> None:
        self.error = error
        self._ready.release()

    def wait(self, timeout: float = -1) -> AcceptedComment:
        """The result, or the error raised; TimeoutError if `timeout` seconds pass first."""
        if not self._ready.acquire(timeout=timeout):
            raise TimeoutError()
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


class _HeldSession:
    """The writer's own connection, kept from one batch to the next, and a session on it.

    A pooled session checks a connection out and back in for every batch, and on PostgreSQL
    pings it first (pool_pre_ping): a round trip per batch, and a wait for the GIL after it,
    for a connection that was in use a millisecond ago. Held, it is pinged only after an idle
    second (a database restart while idle is then noticed before a batch, as the pool would).
    After any error the connection is dropped and the next batch opens a fresh one."""

    IDLE_PING_SECONDS = 1.0

    def __init__(self, engine) -> None:
        self.engine = engine
        self.connection = None
        self.session: Session | None = None
        self.last_used = 0.0

    def get(self) -> Session:
        now = time.monotonic()
        if self.connection is not None and now - self.last_used > self.IDLE_PING_SECONDS and not self._alive():
            self.drop()
        if self.session is None:
            try:
                self.connection = self.engine.connect()
            except UNAVAILABLE_ERRORS as error:  # as transaction() would report it: 503, not 500
                raise DatabaseUnavailable(str(getattr(error, "orig", None) or error)) from error
            self.session = Session(bind=self.connection, expire_on_commit=False)
        self.last_used = now
        return self.session

    def _alive(self) -> bool:
        dbapi_connection = self.connection.connection.dbapi_connection
        try:
            self.connection.dialect.do_ping(dbapi_connection)
            dbapi_connection.rollback()  # the ping must not leave a transaction open on PostgreSQL
            return True
        except Exception:  # noqa: BLE001 - whatever the driver raises, this connection is done
            return False

    def drop(self) -> None:
        """Forget the session and close the connection for good (its state after an error is unknown)."""
        session, connection, self.session, self.connection = self.session, self.connection, None, None
        for close in (getattr(session, "close", None), getattr(connection, "invalidate", None)):
            if close is not None:
                try:
                    close()
                except Exception:  # noqa: BLE001 - closing a broken connection may fail too
                    log.debug("intake writer: closing the held connection failed", exc_info=True)


class BatchStore:
    """Writes one batch in one transaction on a held connection; never raises.

    Used by the writer thread (in this process) and by the writer process (moderation.intake_process)."""

    def __init__(self, engine, flood_interval, analyze_after: int = 1000) -> None:
        self.flood_interval = flood_interval
        self.held = _HeldSession(engine)
        self.statistics = _YoungTableStatistics(analyze_after) if engine.dialect.name == "postgresql" else None

    def write(self, batch: list[Submission]) -> list[AcceptedComment | BaseException]:
        """Each submission's comment, refusal or error, in order."""
        try:
            return self._write(batch)
        except BaseException as error:  # noqa: BLE001 - the writer must outlive any one batch
            log.exception("intake writer: unexpected error")
            self.held.drop()
            return [error] * len(batch)

    def _write(self, batch: list[Submission]) -> list[AcceptedComment | BaseException]:
        try:
            session = self.held.get()
            results = write_batch(session, batch, self.flood_interval)
        except Exception as error:
            self.held.drop()
            if len(batch) > 1 and not isinstance(error, DatabaseUnavailable):
                # A submission that fails in an unexpected way must not take the others with it.
                return [result for one in batch for result in self._write([one])]
            return [error] * len(batch)
        if self.statistics is not None:
            self.statistics.note(session, sum(not isinstance(result, Exception) for result in results))
        return results

    def close(self) -> None:
        self.held.drop()


class IntakeWriter:
    """Request threads parse, validate and score in parallel, then hand the comment over and wait.

    One thread writes whatever has queued meanwhile in one transaction with one commit: on SQLite
    that is one connection with a warm page cache and no queue of writers taking turns on the
    write lock, on PostgreSQL one commit (one WAL flush) for many comments. A request still gets
    its answer only once its comment is committed. Under light load a batch is one comment.
    (`serve` runs moderation.intake_process.ProcessWriter instead on PostgreSQL, and on SQLite
    when a model is loaded: a child that scores and writes the batches, see cli._writer_in_process.)"""

    KIND = "thread"  # where the batches are written (/readyz)
    # Like the writer process, this writer scores each batch before writing it, here in one call
    # to the scoring processes (submit_comment defers the scoring to any writer): a request then
    # waits once instead of twice. SQLite with the classifier, 4 rounds: 0.26-0.28 -> 0.32 of the
    # ceiling at 32 clients (bench/README.md, "Intake").

    def __init__(self, app, settings: IntakeSettings, max_batch: int = 64, analyze_after: int = 1000) -> None:
        self.app, self.settings, self.max_batch, self.analyze_after = app, settings, max_batch, analyze_after
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.thread: threading.Thread | None = None
        self.store = None
        self._accepting = threading.Lock()
        self._closed = False

    @property
    def held(self) -> _HeldSession | None:
        return getattr(self.store, "held", None)

    def start(self) -> "IntakeWriter":
        self.thread = threading.Thread(target=self._run, name="intake-writer", daemon=True)
        self.thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then end the thread."""
        self.queue.put(_STOP)
        if self.thread is not None:
            self.thread.join(timeout)

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    @property
    def stopped(self) -> bool:
        return self._closed

    def __call__(self, submission: Submission) -> AcceptedComment:
        """Write one submission with whatever else is queued; its refusal or a database error is raised here.

        WriterClosed if the writer has stopped taking submissions (the caller writes it itself)."""
        answer = Answer()
        with self._accepting:  # nothing is queued once the thread has stopped looking
            if self._closed:
                raise WriterClosed()
            self.queue.put((submission, answer))
        return answer.wait()

    def _run(self) -> None:
        from moderation.extensions import db

        with self.app.app_context():
            self.store = BatchStore(db.engine, self.settings.flood_interval, self.analyze_after)
            stopping = False
            while not stopping:
                item = self.queue.get()
                if item is _STOP:
                    break
                batch = [item]
                while len(batch) < self.max_batch:
                    try:
                        item = self.queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is _STOP:
                        stopping = True
                        break
                    batch.append(item)
                self._write(batch)
            with self._accepting:
                self._closed = True
            # Whatever was queued after the stop marker is still written: its request is waiting.
            while True:
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    break
                if item is not _STOP:
                    self._write([item])
            self.store.close()

    def _write(self, batch: list[tuple[Submission, Answer]]) -> None:
        try:
            submissions = score_deferred([submission for submission, _ in batch], self.settings.scoring_timeout_s)
            results = self.store.write(submissions)
        except BaseException as error:  # noqa: BLE001 - no request may be left waiting
            log.exception("intake writer: unexpected error")
            results = [error] * len(batch)
        for (_submission, answer), result in zip(batch, results):
            if isinstance(result, BaseException):
                answer.set_exception(result)
            else:
                answer.set_result(result)


def start_intake_writer(app, process: bool = False):
    """Start this process's writer; intake uses it from now on (see api.comments).

    With `process`, the batches are written by a child process (moderation.intake_process)."""
    if process:
        from moderation.intake_process import ProcessWriter

        writer = ProcessWriter(app).start()
    else:
        writer = IntakeWriter(app, app.extensions["moderation.intake_settings"]).start()
    app.extensions[EXTENSION] = writer
    return writer


def current_writer(app) -> IntakeWriter | None:
    writer = app.extensions.get(EXTENSION)
    return writer if writer is not None and writer.running else None
