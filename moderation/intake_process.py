"""Group commit in a child process: intake's database writes leave the server's process and its GIL."""
from __future__ import annotations

import itertools
import logging
import multiprocessing
import pickle
import threading
from dataclasses import replace
from types import SimpleNamespace

from moderation.core import rules
from moderation.core.intake_writes import AcceptedComment
from moderation.core.models import Site
from moderation.core.scoring import note_scored_elsewhere
from moderation.core.submissions import Submission, WriterClosed, score_deferred
from moderation.errors import DatabaseUnavailable
from moderation.intake_child import STOP, serve
from moderation.intake_writer import Answer
from moderation.metrics import COMMENTS_RECEIVED

log = logging.getLogger(__name__)
OVERRIDES = "moderation.config_overrides"  # app.extensions: what create_app was given, for the child

# Why a process (bench/README.md, "Intake"): the served process is bound by its GIL. A writer
# thread in it spent ~0.6 ms of CPU per comment, and after each SQLite or PostgreSQL call it
# waited for the GIL again behind the request threads: its batches took 3.7-4.7 ms of wall time
# for ~1.5 ms of CPU, and each request waited 6-8 ms for it. Here request threads pickle their
# submission into a pipe and sleep; the child reads whatever has arrived, writes it in one
# transaction with the same code (BatchStore), and sends the results back in one message, which
# one thread of this process hands to the waiting requests. Comments that arrive while the child
# writes form its next batch, so the batching no longer waits on this process at all. The child
# also scores each batch with its own copy of the model (moderation.writer_scoring).


class ProcessWriter:
    """IntakeWriter's interface; the batches are written by a child process with its own connection.

    One thread of this process starts the child, hands its answers to the waiting requests, and
    starts another child if it dies. While there is no child (starting, restarting, stopped, or
    it could not be started: retried every minute) a submission raises WriterClosed and intake
    writes it itself, as without a writer. A child that dies, or takes longer than the answer
    timeout, while it holds comments fails their requests with DatabaseUnavailable (503, retry):
    those comments may or may not be committed, and a retry is refused as a duplicate if they were."""

    KIND = "process"  # where the batches are written (/readyz)
    # Request threads leave the scoring to the child (the holder's scorer is a
    # writer_scoring.BatchScorer from start() on), which scores each batch before writing it.
    START_TIMEOUT_S = 60.0
    RETRY_AFTER_S = 60.0

    def __init__(self, app, max_batch: int = 64, analyze_after: int = 1000) -> None:
        self.overrides = app.extensions.get(OVERRIDES, {})
        self.models = app.extensions["moderation.models"]
        self.scoring_timeout_s = app.config["MODERATION_SCORING_TIMEOUT_MS"] / 1000
        self.max_batch, self.analyze_after = max_batch, analyze_after
        # A batch may wait for a pooled connection or SQLite's busy timeout, and then some.
        self.answer_timeout_s = 30.0 + app.config["MODERATION_DB_BUSY_TIMEOUT_MS"] / 1000
        self.context = multiprocessing.get_context("spawn")  # the server already runs threads: no fork
        self.process = self.connection = None
        self.thread: threading.Thread | None = None
        # Two locks, never held together: a sender blocked on a full pipe holds only _sending, and
        # the thread that drains the child's answers (which unblocks the child, then the pipe)
        # needs only _pending_lock.
        self._sending = threading.Lock()
        self._pending_lock = threading.Lock()
        self._pending: dict[int, Answer] = {}
        self._sequence = itertools.count()
        self._rules_version = self._rules_sent = 0
        self._sites: dict[int, tuple[Site, SimpleNamespace]] = {}
        self._stopping = threading.Event()
        self._first_attempt = threading.Event()

    def start(self) -> "ProcessWriter":
        from moderation.writer_scoring import ScoringInWriter

        rules.on_forget(self._rules_changed)
        self.models.score_in(ScoringInWriter(self.scoring_timeout_s))
        self.thread = threading.Thread(target=self._run, name="intake-writer-link", daemon=True)
        self.thread.start()
        self._first_attempt.wait(self.START_TIMEOUT_S + 5)
        return self

    @property
    def running(self) -> bool:
        return self.connection is not None

    @property
    def stopped(self) -> bool:
        return self._stopping.is_set()

    def __call__(self, submission: Submission) -> AcceptedComment:
        """Write one submission with whatever else reaches the child meanwhile; refusals and errors are raised here."""
        answer = Answer()
        sequence = next(self._sequence)
        scorer = submission.deferred_scorer
        source = getattr(scorer, "source", None)
        if scorer is not None and source is None:  # deferred to the workers' scorer, which the child has not
            (submission,) = score_deferred([submission], self.scoring_timeout_s)
        asked = (source, scorer.thresholds) if source is not None else None  # what the child scores it with
        portable = replace(submission, site=self._portable_site(submission.site), deferred_scorer=None)
        with self._sending:
            connection, process = self.connection, self.process
            if connection is None:
                raise WriterClosed()
            version = self._rules_version
            payload = pickle.dumps((sequence, portable, version != self._rules_sent, asked), pickle.HIGHEST_PROTOCOL)
            with self._pending_lock:
                self._pending[sequence] = answer
            try:
                connection.send_bytes(payload)
            except BaseException as error:
                with self._pending_lock:
                    self._pending.pop(sequence, None)
                if isinstance(error, OSError):
                    raise WriterClosed() from None  # the child is gone; nothing reached it
                raise
            self._rules_sent = version
        try:
            return answer.wait(self.answer_timeout_s)
        except TimeoutError:
            log.error("intake writer process: no answer in %.0f s; stopping it", self.answer_timeout_s)
            if process.is_alive():
                process.kill()  # its thread sees the pipe close, fails what it held and starts another
            raise DatabaseUnavailable("the database did not answer in time") from None

    def stop(self, timeout: float = 10.0) -> None:
        """Let the child write what it was sent, then end it and this process's thread."""
        rules.off_forget(self._rules_changed)
        self._stopping.set()
        process = self.process
        with self._sending:
            connection, self.connection = self.connection, None
            if connection is not None:
                try:
                    connection.send(STOP)
                except OSError:
                    pass
        if self.thread is not None:
            self.thread.join(timeout)
        if process is not None and process.is_alive():  # it did not finish in time
            process.kill()
            if self.thread is not None:
                self.thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._serve_one_child()
            except Exception:  # noqa: BLE001 - this thread must outlive any one child
                log.exception("intake writer process: unexpected error; starting another")
                self._stopping.wait(1.0)

    def _serve_one_child(self) -> None:
        link = self._launch()
        self._first_attempt.set()
        if link is None:
            self._stopping.wait(self.RETRY_AFTER_S)
            return
        process, connection = link
        with self._sending:
            if not self._stopping.is_set():
                self.process, self.connection = process, connection
                self._rules_sent = self._rules_version  # a new child has read no rules yet
        try:
            if self.connection is connection:
                self._receive(connection)
            else:  # stop() came while this child started
                connection.send(STOP)
        finally:
            with self._sending:
                if self.connection is connection:
                    self.connection = None
                self.process = None
            with self._pending_lock:
                lost, self._pending = self._pending, {}
            for answer in lost.values():
                answer.set_exception(DatabaseUnavailable(
                    "the intake writer stopped while writing this comment; a retry is refused as a "
                    "duplicate if it was stored (replayed, with its Idempotency-Key)"))
            self._end(process, connection)
            if lost:
                log.error("intake writer process lost with %d comments in hand", len(lost))

    def _launch(self):
        try:
            parent, child = self.context.Pipe()
        except OSError:
            log.exception("intake writer process: no pipe; writing in this process")
            return None
        scoring = (self.scoring_timeout_s, getattr(self.models.current, "source", None))
        process = self.context.Process(target=serve, args=(child, self.overrides, self.max_batch, self.analyze_after,
                                                            scoring), name="moderation-intake-writer", daemon=True)
        try:
            process.start()
        except Exception:  # noqa: BLE001 - no processes, memory or descriptors: intake writes in process
            log.exception("intake writer process: could not start it; writing in this process")
            parent.close()
            return None
        finally:
            child.close()
        try:
            status, detail = parent.recv() if parent.poll(self.START_TIMEOUT_S) else ("failed", "no answer in time")
        except (EOFError, OSError):
            status, detail = "failed", f"it exited while starting (exit code {process.exitcode})"
        if status != "ready":
            log.error("intake writer process: %s; writing in this process", detail)
            self._end(process, parent)
            return None
        return process, parent

    def _receive(self, connection) -> None:
        while True:
            try:
                results, wake, scoring = connection.recv()
            except (EOFError, OSError):
                return
            note_scored_elsewhere(*scoring)
            for sequence, result in results:
                with self._pending_lock:
                    answer = self._pending.pop(sequence, None)
                if isinstance(result, AcceptedComment):
                    COMMENTS_RECEIVED.labels(status=result.status.value).inc()  # counted here, not in the child
                if answer is None:
                    continue  # its request timed out
                if isinstance(result, BaseException):
                    answer.set_exception(result)
                else:
                    answer.set_result(result)
            if wake:  # the child's commit cannot reach this process's webhook worker itself
                from moderation.webhooks.worker import wake_workers

                wake_workers()

    def _portable_site(self, site: Site) -> SimpleNamespace:
        """The site's columns, without the ORM state that pickling an instance would drag along."""
        known = self._sites.get(site.id)
        if known is None or known[0] is not site:
            known = self._sites[site.id] = (site, SimpleNamespace(
                **{column.key: getattr(site, column.key) for column in Site.__table__.columns}))
        return known[1]

    def _rules_changed(self) -> None:
        self._rules_version += 1  # the next submission sent tells the child to read the rules again

    @staticmethod
    def _end(process, connection, timeout: float = 10.0) -> None:
        process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join(timeout)
        connection.close()
