"""Combining: the thread that finds nobody at work does the work of every thread waiting meanwhile, as one batch."""
from __future__ import annotations

import collections
import threading
import time
from typing import Callable, Generic, TypeVar

Item = TypeVar("Item")

_WAITING, _TAKEN, _PROMOTED, _DONE, _ABANDONED = range(5)


class _Turn:
    """One caller's item, and where its result is left; `ready` is released when the state
    becomes _PROMOTED or _DONE (always under the combiner's mutex)."""

    __slots__ = ("item", "ready", "state", "result")

    def __init__(self, item) -> None:
        self.item = item
        self.ready = threading.Lock()
        self.ready.acquire()
        self.state = _WAITING
        self.result = None


class Combiner(Generic[Item]):
    """Run `work(items) -> results` (one result per item, in order; an exception instance is raised
    in its own caller) for concurrent callers, batched, without a thread of its own.

    Why: a resource that one thread at a time can use (here, the scoring worker processes), handed
    from caller to caller, costs every caller a wake-up and a wait for the GIL behind the server's
    other threads. At 32 concurrent requests that made each comment's turn ~8 ms: most of them
    overran the 250 ms scoring budget (bench/README.md, "Twelfth session"). Combined, the caller
    that finds nobody working takes everything queued, and one hand-over serves a whole batch.

    A caller whose `timeout` passes before its item was taken gets TimeoutError and its item is not
    worked on. One whose item was taken, or that was made the next leader, waits for the batch."""

    def __init__(self, work: Callable[[list], list], max_batch: int = 64) -> None:
        self.work, self.max_batch = work, max_batch
        self._mutex = threading.Lock()
        self._waiting: collections.deque[_Turn] = collections.deque()
        self._leading = False

    def submit(self, item: Item, timeout: float):
        """The item's result (or its exception, raised), worked on in a batch with whatever else is waiting."""
        turn = _Turn(item)
        with self._mutex:
            lead = not self._leading
            if lead:
                self._leading = True
            else:
                self._waiting.append(turn)
        if not lead:
            lead = self._wait(turn, time.monotonic() + timeout)
        if lead:
            self._lead(turn)
        if isinstance(turn.result, BaseException):
            raise turn.result
        return turn.result

    def _wait(self, turn: _Turn, deadline: float) -> bool:
        """Until the turn is done (False) or made leader (True); TimeoutError if it was never taken."""
        if not turn.ready.acquire(timeout=max(0.0, deadline - time.monotonic())):
            with self._mutex:
                if turn.state == _WAITING:
                    turn.state = _ABANDONED
                    self._waiting.remove(turn)
                    raise TimeoutError("not taken into a batch within the budget")
            # Taken (its batch is being worked on: that has its own budget) or released just now.
            turn.ready.acquire()
        return turn.state == _PROMOTED

    def _lead(self, first: _Turn) -> None:
        batch = [first]
        with self._mutex:
            first.state = _TAKEN
            while self._waiting and len(batch) < self.max_batch:
                turn = self._waiting.popleft()
                turn.state = _TAKEN
                batch.append(turn)
        try:
            results = self.work([turn.item for turn in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{len(results)} results for {len(batch)} items")
        except BaseException as error:  # noqa: BLE001 - no caller may be left waiting
            results = [error] * len(batch)
        with self._mutex:
            for turn, result in zip(batch, results):
                turn.result, turn.state = result, _DONE
                if turn is not first:
                    turn.ready.release()
            if self._waiting:  # the next in line leads; it takes what queued during this batch
                following = self._waiting.popleft()
                following.state = _PROMOTED
                following.ready.release()
            else:
                self._leading = False
