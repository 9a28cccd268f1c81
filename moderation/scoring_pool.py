"""Scoring in worker processes, so that a busy server's request threads do not queue for the GIL inside numpy."""
from __future__ import annotations

import logging
import multiprocessing
import queue
import threading
import time

from moderation.combining import Combiner
from moderation.scoring_worker import Worker as _Worker
from moderation.scoring_worker import WorkerFailed

__all__ = ["PooledScorer", "ScoringPool", "WorkerFailed", "start_scoring_pool"]
log = logging.getLogger(__name__)

# Why processes: numpy lets go of the GIL inside most of the array operations of one comment's
# scoring (sort, take, masks, argpartition...). Alone, a comment is scored in ~0.2 ms; in the
# server at 8 concurrent requests it took 3.4 ms of wall time, at 32 8.3 ms (moderation_scoring_
# seconds), because each release let another request thread in and the scoring thread then
# waited for its turn again (a thread spinning beside it made one call take 25 ms instead of
# 0.2). In a worker process nobody competes for that process's GIL; the request thread sends
# the text, sleeps on the pipe and gets the result, and the scoring runs on the other core.
# Workers load the same verified artifact (skops, sha256) as this process; nothing but texts and
# results crosses the pipe.


class ModelNotHeld(RuntimeError):
    """score_batch() was asked for a model the workers do not hold (any more)."""


class ScoringPool:
    """`size` worker processes holding the current model; request threads borrow one per comment,
    the intake writer as many as are idle for a batch (score_batch).

    Until the workers have loaded a newly swapped model (a second or two), comments are scored in
    the request thread as before. A worker that overruns the budget is killed and replaced, which
    a thread never could be. Idle workers are put on the queue, and the model they hold changed,
    only under the lock, so that close() and a swap never leave a worker behind."""

    START_TIMEOUT_S = 120.0
    RETRY_AFTER_FAILURE_S = 60.0  # workers that could not start are not respawned on every comment

    def __init__(self, size: int, timeout_s: float) -> None:
        self.size, self.timeout_s = size, timeout_s
        self._context = multiprocessing.get_context("spawn")  # the server already runs threads: no fork
        self._lock = threading.Lock()
        self._source: tuple[str, str] | None = None  # what the idle workers hold
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        self._loading: tuple[str, str] | None = None  # the model a load is running for (the latest asked)
        self._failed: tuple[tuple[str, str], float] | None = None  # (source, when) of the last failed start
        self._closed = False
        self._combiner = Combiner(self._score_combined)

    def score(self, model, content: str, author_name: str = "", author_url: str = ""):
        """The model's ScoreResult for one comment, from a worker when one holds this model.

        Concurrent calls are scored together (moderation.combining): the caller that finds nobody
        scoring sends every comment waiting meanwhile as one batch (score_batch). One budget covers
        the wait for a batch to take the comment; the batch has one of its own."""
        source = getattr(model, "source", None)
        if source is None or source != self._source:
            self._load_soon(source)
            return model.score(content, author_name=author_name, author_url=author_url)
        try:  # raises what cost this comment its score: WorkerFailed, TimeoutError...
            return self._combiner.submit((model, (content, author_name, author_url)), self.timeout_s)
        except TimeoutError:  # an OSError too, but the worker was too slow, not gone
            raise
        except (EOFError, OSError) as error:
            raise WorkerFailed(f"scoring worker stopped: {type(error).__name__}") from error

    def _score_combined(self, items: list[tuple]) -> list:
        """The Combiner's work: each (model, request)'s result or error, the requests of a model in one batch."""
        results: list = [None] * len(items)
        by_model: dict[int, list[int]] = {}
        for index, (model, _request) in enumerate(items):
            by_model.setdefault(id(model), []).append(index)
        for indexes in by_model.values():
            model = items[indexes[0]][0]
            requests = [items[index][1] for index in indexes]
            try:
                found = self.score_batch(model, requests)
            except TimeoutError as error:
                found = [error] * len(requests)
            except ModelNotHeld:  # the workers switched to another model meanwhile
                found = [_in_process(model, *request) for request in requests]
            for index, result in zip(indexes, found):
                results[index] = result
        return results

    def score_batch(self, model, requests: list[tuple[str, str, str]]) -> list:
        """Each comment's ScoreResult, or the exception that cost it its score, in order.

        For the intake writer's batch (moderation.intake_writer): the comments are dealt to the
        idle workers (at least one, waited for), scored in parallel, and one budget covers the
        whole batch. A worker that overruns it or dies is replaced; its comments get the error."""
        if not self.holds(model):
            raise ModelNotHeld("the workers do not hold this model")
        deadline = time.monotonic() + self.timeout_s
        try:
            workers = [self._idle.get(timeout=self.timeout_s)]
        except queue.Empty:
            raise TimeoutError(f"no scoring worker free within {int(self.timeout_s * 1000)} ms") from None
        while len(workers) < min(len(requests), self.size):
            try:
                workers.append(self._idle.get_nowait())
            except queue.Empty:
                break
        count = len(workers)  # comment i goes to worker i mod count
        results: list = [None] * len(requests)
        sent = []
        for offset, worker in enumerate(workers):
            share = requests[offset::count]
            if worker.source != model.source:  # left from the previous model while the pool switches
                worker.stop()
                results[offset::count] = [_in_process(model, *request) for request in share]
                continue
            try:
                worker.send_many(share)
                sent.append((offset, worker))
            except OSError as error:
                results[offset::count] = [error] * len(share)
                self._replace(worker)
        for position, (offset, worker) in enumerate(sent):
            try:
                results[offset::count] = worker.receive_many(deadline)
            except (TimeoutError, EOFError, OSError) as error:
                self._replace(worker)
                results[offset::count] = [error] * len(requests[offset::count])
            except BaseException:  # the pipes are in an unknown state: no worker is left unaccounted for
                for _offset, unread in sent[position:]:
                    self._replace(unread)
                raise
            else:
                self._give_back(worker)
        return results

    def scorer_for(self, model) -> "PooledScorer":
        """What intake scores this model with (ModelHolder.score_in)."""
        return PooledScorer(model, self)

    def holds(self, model) -> bool:
        """Whether this model is scored in the workers now (False: in process, while they load)."""
        source = getattr(model, "source", None)
        return source is not None and source == self._source

    def pids(self) -> list[int]:
        """Process ids of the workers idle right now (supervision, tests)."""
        with self._lock:
            workers = self._take_idle()
            for worker in workers:
                self._idle.put(worker)
        return [worker.process.pid for worker in workers]

    def prepare(self, model) -> None:
        """Start loading this model in the workers (scoring goes on in process meanwhile)."""
        self._load_soon(getattr(model, "source", None))

    def close(self) -> None:
        with self._lock:
            self._closed, self._source = True, None
            idle = self._take_idle()
        for worker in idle:
            worker.stop()

    def _take_idle(self) -> list[_Worker]:
        workers = []
        while True:
            try:
                workers.append(self._idle.get_nowait())
            except queue.Empty:
                return workers

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            if worker.source == self._source and not self._closed:
                self._idle.put(worker)
                return
        worker.stop()  # the model changed meanwhile, or the pool closed

    def _replace(self, worker: _Worker) -> None:
        worker.stop()
        threading.Thread(target=self._start_one, args=(worker.source,), name="scoring-worker-start",
                         daemon=True).start()

    def _start_workers(self, source, count: int) -> list[_Worker]:
        """Start `count` workers on `source`; those that load it in time (the others are stopped)."""
        started: list[_Worker] = []
        try:
            for _ in range(count):
                started.append(_Worker(self._context, source))
            ready = [worker for worker in started if worker.wait_ready(self.START_TIMEOUT_S)]
        except Exception:  # noqa: BLE001 - out of processes, memory or descriptors: score in process
            log.warning("scoring workers could not be started", exc_info=True)
            ready = []
        for worker in started:
            if worker not in ready:
                worker.stop()
        return ready

    def _start_one(self, source) -> None:
        ready = self._start_workers(source, 1)
        for worker in ready:
            self._give_back(worker)
        if ready:
            return
        with self._lock:  # the current model's workers cannot start any more: score in process
            if self._source != source:
                return  # a replacement for a model no longer in use: nothing to undo
            self._source, self._failed = None, (source, time.monotonic())
            idle = self._take_idle()
        for worker in idle:
            worker.stop()

    def _load_soon(self, source) -> None:
        with self._lock:
            if source is None or self._closed or source in (self._loading, self._source):
                return  # no model, closed, already loading it, or the workers hold it already
            if self._failed is not None and self._failed[0] == source \
                    and time.monotonic() - self._failed[1] < self.RETRY_AFTER_FAILURE_S:
                return
            self._loading = source
        threading.Thread(target=self._load, args=(source,), name="scoring-workers-load", daemon=True).start()

    def _load(self, source) -> None:
        ready = self._start_workers(source, self.size)
        with self._lock:
            superseded = self._loading != source  # another model was asked for meanwhile
            if not superseded:
                self._loading = None
                if not ready:
                    self._failed = (source, time.monotonic())
            if self._closed or superseded or not ready:
                unwanted, ready = ready, []
            else:
                old, self._source = self._source, source
                unwanted = self._take_idle()  # the previous model's; busy ones stop when given back
                for worker in ready:
                    self._idle.put(worker)
        for worker in unwanted:
            worker.stop()
        if ready:
            log.info("scoring in %d worker processes with model %s (was %s)", len(ready), source[1],
                     old[1] if old else "in process")
        elif not superseded:
            log.warning("scoring workers could not start with model %s; scoring in process", source[1])


def _in_process(model, content: str, author_name: str, author_url: str):
    try:
        return model.score(content, author_name=author_name, author_url=author_url)
    except Exception as error:  # noqa: BLE001 - as a worker reports it: this comment's failure
        return WorkerFailed(f"{type(error).__name__}: {error}")


class PooledScorer:
    """What intake scores with: the holder's model, scored by the pool (same version and thresholds)."""

    def __init__(self, model, pool: ScoringPool) -> None:
        self.model, self.pool = model, pool
        self.version = model.version
        self.thresholds = model.thresholds

    def score(self, content: str, author_name: str = "", author_url: str = ""):
        return self.pool.score(self.model, content, author_name, author_url)

    @property
    def batches(self) -> bool:
        """Whether score_batch() runs in the workers now (not while they load this model)."""
        return self.pool.holds(self.model)

    # Whether score() keeps to the budget by itself: in the workers, as for batches (the pool
    # replaces one that overruns), not while they load this model (scored in process then).
    bounds_own_time = batches

    def score_batch(self, requests: list[tuple[str, str, str]]) -> list:
        return self.pool.score_batch(self.model, requests)


def start_scoring_pool(app, size: int) -> ScoringPool:
    """Score this process's intake in `size` worker processes; they load the current model now."""
    holder = app.extensions["moderation.models"]
    pool = ScoringPool(size, app.config["MODERATION_SCORING_TIMEOUT_MS"] / 1000)
    holder.score_in(pool)
    if holder.current is not None:
        pool.prepare(holder.current)
    app.extensions["moderation.scoring_pool"] = pool
    return pool
