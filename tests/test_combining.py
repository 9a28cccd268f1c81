"""Combining: concurrent callers are served in few batches, each gets its own result or error, and nobody is left waiting."""
from __future__ import annotations

import random
import threading
import time

import pytest

from moderation.combining import Combiner


def _until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.001)


def _in_threads(call, arguments) -> list:
    """call(argument) in one thread each; their results, or the exceptions they raised, in order."""
    outcomes: list = [None] * len(arguments)

    def run(index: int) -> None:
        try:
            outcomes[index] = call(arguments[index])
        except Exception as error:  # noqa: BLE001 - the outcome under test
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(arguments))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads), "a caller was left waiting"
    return outcomes


def test_callers_arriving_while_a_batch_runs_are_served_together_each_with_its_own_result():
    batches = []
    first_may_end = threading.Event()

    def work(items):
        batches.append(list(items))
        if len(batches) == 1:
            first_may_end.wait(10)
        return [item * 2 for item in items]

    combiner = Combiner(work)
    leader = threading.Thread(target=lambda: combiner.submit(0, 5.0))
    leader.start()
    _until(lambda: batches)  # the first caller is working alone
    results: list = []
    others = threading.Thread(target=lambda: results.extend(_in_threads(lambda n: combiner.submit(n, 5.0),
                                                                         list(range(1, 16)))))
    others.start()
    _until(lambda: len(combiner._waiting) == 15)
    first_may_end.set()
    leader.join(10)
    others.join(10)
    assert results == [n * 2 for n in range(1, 16)]
    assert [len(batch) for batch in batches] == [1, 15]  # two hand-overs for sixteen callers


def test_an_error_is_raised_in_its_own_caller_only_and_a_failing_batch_fails_only_its_callers():
    def work(items):
        if "boom" in items:
            raise RuntimeError("the whole batch failed")
        return [ValueError(item) if item % 2 else item for item in items]

    combiner = Combiner(work)
    outcomes = _in_threads(lambda n: combiner.submit(n, 5.0), list(range(8)))
    for n, outcome in enumerate(outcomes):
        if n % 2:
            assert isinstance(outcome, ValueError) and outcome.args == (n,)
        else:
            assert outcome == n
    with pytest.raises(RuntimeError, match="whole batch"):
        combiner.submit("boom", 5.0)
    assert combiner.submit(4, 5.0) == 4  # the next batch runs


def test_work_returning_the_wrong_number_of_results_fails_its_callers_instead_of_mixing_them_up():
    combiner = Combiner(lambda items: items[:-1])
    with pytest.raises(RuntimeError, match="0 results for 1 items"):
        combiner.submit("x", 5.0)


def test_a_caller_not_taken_within_its_timeout_gives_up_and_its_item_is_never_worked_on():
    worked = []
    release = threading.Event()

    def work(items):
        worked.extend(items)
        if items == ["slow"]:
            release.wait(10)
        return items

    combiner = Combiner(work)
    slow = threading.Thread(target=lambda: combiner.submit("slow", 5.0))
    slow.start()
    _until(lambda: worked)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        combiner.submit("late", 0.1)
    assert time.monotonic() - started < 2
    release.set()
    slow.join(10)
    assert combiner.submit("next", 5.0) == "next"  # leadership went on: nobody is stuck behind "late"
    assert worked == ["slow", "next"]


def test_a_caller_whose_item_was_taken_waits_for_its_batch_past_its_own_timeout():
    release = threading.Event()
    batches = []

    def work(items):
        batches.append(items)
        if len(batches) == 1:
            release.wait(10)
        else:
            time.sleep(0.3)  # longer than the second caller's timeout
        return [f"done {item}" for item in items]

    combiner = Combiner(work)
    first = threading.Thread(target=lambda: combiner.submit("a", 5.0))
    first.start()
    _until(lambda: batches)
    outcome: list = []
    second = threading.Thread(target=lambda: outcome.append(combiner.submit("b", 0.2)))
    second.start()
    _until(lambda: combiner._waiting)
    release.set()  # "b" is made the next leader, then its own batch takes 0.3 s
    first.join(10)
    second.join(10)
    assert outcome == ["done b"]


def test_many_callers_with_short_timeouts_all_return_and_no_item_is_worked_twice():
    worked: list = []
    lock = threading.Lock()
    rng = random.Random(7)

    def work(items):
        with lock:
            worked.extend(items)
        time.sleep(rng.random() * 0.002)
        return items

    combiner = Combiner(work, max_batch=8)

    def caller(index: int) -> list:
        outcomes = []
        for n in range(40):
            try:
                outcomes.append(combiner.submit((index, n), timeout=rng.choice((0.0005, 0.002, 0.05))))
            except TimeoutError:
                outcomes.append(None)
        return outcomes

    results = _in_threads(caller, list(range(24)))
    answered = {item for outcomes in results for item in outcomes if item is not None}
    assert len(worked) == len(set(worked))  # nothing worked twice
    assert answered <= set(worked)
    assert len(answered) > 0
    assert not combiner._waiting and not combiner._leading  # left idle: the next caller leads at once
    assert combiner.submit("after", 0.001) == "after"
