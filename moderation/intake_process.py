"""Group commit in a child process: intake's database writes leave the server's process and its GIL."""
from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import pickle
import threading
from dataclasses import replace
from types import SimpleNamespace

from moderation.core import rules
from moderation.core.intake_writes import AcceptedComment
from moderation.core.models import Site
from moderation.core.submissions import Submission, WriterClosed
from moderation.errors import DatabaseUnavailable
from moderation.intake_writer import _Answer
from moderation.metrics import COMMENTS_RECEIVED

log = logging.getLogger(__name__)
OVERRIDES = "moderation.config_overrides"  # app.extensions: what create_app was given, for the child
_STOP = "stop"

# Why a process (bench/README.md, "Intake"): the served process is bound by its GIL. A writer
# thread in it spent ~0.6 ms of CPU per comment, and after each SQLite or PostgreSQL call it
# waited for the GIL again behind the request threads: its batches took 3.7-4.7 ms of wall time
# for ~1.5 ms of CPU, and each request waited 6-8 ms for it. Here request threads pickle their
# submission into a pipe and sleep; the child reads whatever has arrived, writes it in one
# transaction with the same code (BatchStore), and sends the results back in one message, which
# one thread of this process hands to the waiting requests. Comments that arrive while the child
# writes form its next batch, so the batching no longer waits on this process at all.


def _serve(connection, overrides: dict, max_batch: int, analyze_after: int) -> None:
    """The child: build the app's engine, then write what arrives, a batch at a time, until told to stop."""
    from moderation import create_app
    from moderation.extensions import db
    from moderation.intake_writer import BatchStore

    try:
        app = create_app({**overrides, "LOAD_MODEL": False, "WEBHOOK_WORKER": False})
        app.app_context().push()
        store = BatchStore(db.engine, app.extensions["moderation.intake_settings"].flood_interval, analyze_after)
    except Exception as error:  # noqa: BLE001 - reported to the parent, which writes in process
        connection.send(("failed", f"{type(error).__name__}: {error}"))
        return
    connection.send(("ready", os.getpid()))
    stopping = False
    while not stopping:
        items = []
        try:
            message = connection.recv()
            while True:
                if message == _STOP:
                    stopping = True
                    break
                sequence, submission, forget_rules = message
                if forget_rules:
                    rules.forget_cached_rules()
                items.append((sequence, submission))
                if len(items) >= max_batch or not connection.poll():
                    break
                message = connection.recv()
        except (EOFError, OSError):
            stopping = True
        if items:
            results = store.write([submission for _sequence, submission in items])
            connection.send([(sequence, _portable(result)) for (sequence, _), result in zip(items, results)])
    store.close()


def _portable(result):
    """Results cross the pipe pickled; an unexpected error that will not pickle goes as its description."""
    if isinstance(result, BaseException):
        try:
            pickle.loads(pickle.dumps(result))
        except Exception:  # noqa: BLE001 - any error of any library may come here
            return RuntimeError(f"{type(result).__name__}: {result}")
    return result


class ProcessWriter:
    """IntakeWriter's interface; the batches are written by a child process with its own connection.

    One thread of this process starts the child, hands its answers to the waiting requests, and
    starts another child if it dies. While there is no child (starting, restarting, stopped, or
    it could not be started: retried every minute) a submission raises WriterClosed and intake
    writes it itself, as without a writer. A child that dies, or takes longer than the answer
    timeout, while it holds comments fails their requests with DatabaseUnavailable (503, retry):
    those comments may or may not be committed, and a retry is refused as a duplicate if they were."""

    START_TIMEOUT_S = 60.0
    RETRY_AFTER_S = 60.0

    def __init__(self, app, max_batch: int = 64, analyze_after: int = 1000) -> None:
        self.overrides = app.extensions.get(OVERRIDES, {})
        self.max_batch, self.analyze_after = max_batch, analyze_after
        # A batch may wait for a pooled connection or SQLite's busy timeout, and then some.
        self.answer_timeout_s = 30.0 + app.config["MODERATION_DB_BUSY_TIMEOUT_MS"] / 1000
        self.context = multiprocessing.get_context("spawn")  # the server already runs threads: no fork
        self.process = self.connection = None
        self.thread: threading.Thread | None = None
        self._lock = threading.Lock()  # the pipe's sending end, the pending answers and the link
        self._pending: dict[int, _Answer] = {}
        self._sequence = itertools.count()
        self._forget_rules = False
        self._sites: dict[int, tuple[Site, SimpleNamespace]] = {}
        self._stopping = threading.Event()
        self._first_attempt = threading.Event()

    def start(self) -> "ProcessWriter":
        rules.on_forget(self._rules_changed)
        self.thread = threading.Thread(target=self._run, name="intake-writer-link", daemon=True)
        self.thread.start()
        self._first_attempt.wait(self.START_TIMEOUT_S + 5)
        return self

    @property
    def running(self) -> bool:
        return self.connection is not None

    def __call__(self, submission: Submission) -> AcceptedComment:
        """Write one submission with whatever else reaches the child meanwhile; refusals and errors are raised here."""
        answer = _Answer()
        portable = replace(submission, site=self._portable_site(submission.site))
        with self._lock:
            if self.connection is None:
                raise WriterClosed()
            sequence = next(self._sequence)
            self._pending[sequence] = answer
            forget, self._forget_rules = self._forget_rules, False
            try:
                self.connection.send((sequence, portable, forget))
            except OSError:
                del self._pending[sequence]
                raise WriterClosed() from None  # the child is gone; its thread is starting another
        try:
            return answer.wait(self.answer_timeout_s)
        except TimeoutError:
            log.error("intake writer process: no answer in %.0f s; stopping it", self.answer_timeout_s)
            self._kill()
            raise DatabaseUnavailable("the database did not answer in time") from None

    def stop(self, timeout: float = 10.0) -> None:
        """Let the child write what it was sent, then end it and this process's thread."""
        rules.off_forget(self._rules_changed)
        self._stopping.set()
        with self._lock:
            connection, self.connection = self.connection, None
            if connection is not None:
                try:
                    connection.send(_STOP)
                except OSError:
                    pass
        if self.thread is not None:
            self.thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            link = self._launch()
            self._first_attempt.set()
            if link is None:
                self._stopping.wait(self.RETRY_AFTER_S)
                continue
            process, connection = link
            with self._lock:
                if not self._stopping.is_set():
                    self.process, self.connection = process, connection
                    self._forget_rules = False  # a new child has read no rules yet
            self._receive(connection)
            with self._lock:
                self.process = self.connection = None
                lost, self._pending = self._pending, {}
            for answer in lost.values():
                answer.set_exception(DatabaseUnavailable(
                    "the intake writer stopped while writing this comment; a retry is refused as a "
                    "duplicate if it was stored"))
            self._end(process, connection)
            if lost:
                log.error("intake writer process lost with %d comments in hand; starting another", len(lost))

    def _launch(self):
        parent, child = self.context.Pipe()
        process = self.context.Process(target=_serve, args=(child, self.overrides, self.max_batch, self.analyze_after),
                                       name="moderation-intake-writer", daemon=True)
        try:
            process.start()
        except Exception:  # noqa: BLE001 - no processes, memory or descriptors: intake writes in process
            log.exception("intake writer process: could not start it; writing in this process")
            parent.close()
            return None
        finally:
            child.close()
        status, detail = parent.recv() if parent.poll(self.START_TIMEOUT_S) else ("failed", "no answer in time")
        if status != "ready":
            log.error("intake writer process: %s; writing in this process", detail)
            self._end(process, parent)
            return None
        return process, parent

    def _receive(self, connection) -> None:
        while True:
            try:
                results = connection.recv()
            except (EOFError, OSError):
                return
            accepted = 0
            for sequence, result in results:
                with self._lock:
                    answer = self._pending.pop(sequence, None)
                if isinstance(result, AcceptedComment):
                    accepted += 1
                    COMMENTS_RECEIVED.labels(status=result.status.value).inc()  # counted here, not in the child
                if answer is None:
                    continue  # its request timed out
                if isinstance(result, BaseException):
                    answer.set_exception(result)
                else:
                    answer.set_result(result)
            if accepted:
                from moderation.webhooks.worker import wake_workers

                wake_workers()  # the child's commit cannot reach this process's webhook worker itself

    def _portable_site(self, site: Site) -> SimpleNamespace:
        """The site's columns, without the ORM state that pickling an instance would drag along."""
        known = self._sites.get(site.id)
        if known is None or known[0] is not site:
            known = self._sites[site.id] = (site, SimpleNamespace(
                **{column.key: getattr(site, column.key) for column in Site.__table__.columns}))
        return known[1]

    def _rules_changed(self) -> None:
        self._forget_rules = True  # sent with the next submission

    def _kill(self) -> None:
        process = self.process
        if process is not None and process.is_alive():
            process.kill()  # its thread sees the pipe close, fails what it held and starts another

    @staticmethod
    def _end(process, connection, timeout: float = 10.0) -> None:
        process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join(timeout)
        connection.close()
