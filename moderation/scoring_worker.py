"""A scoring worker process, and the parent's handle on it: a batch of comments per message."""
from __future__ import annotations

import logging
import time
from pathlib import Path

log = logging.getLogger(__name__)


def serve(connection, models_dir: str, version: str) -> None:
    """A worker's loop: load the model, then score whatever arrives until the pipe closes.

    A message is a list of comments (content, author name, author URL), answered with one list of
    (status, result)."""
    from moderation.classifier import load_model

    try:
        model = load_model(Path(models_dir), version)
    except Exception as error:  # noqa: BLE001 - reported to the parent, which keeps scoring in process
        connection.send(("failed", f"{type(error).__name__}: {error}"))
        return
    connection.send(("ready", model.version))

    def score(content, author_name, author_url) -> tuple[str, object]:
        try:
            return "ok", model.score(content, author_name=author_name, author_url=author_url)
        except Exception as error:  # noqa: BLE001 - one comment's failure is that comment's
            return "error", f"{type(error).__name__}: {error}"

    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        connection.send([score(*comment) for comment in message])


class WorkerFailed(RuntimeError):
    """The worker died or failed on this comment; the comment is accepted unscored."""


class Worker:
    """A worker process and the pipe to it; used by one thread at a time (the pool lends it)."""

    def __init__(self, context, source: tuple[str, str]) -> None:
        self.source = source
        self.connection, child = context.Pipe()
        self.process = context.Process(target=serve, args=(child, *source), name="moderation-scoring", daemon=True)
        self.process.start()
        child.close()

    def wait_ready(self, timeout: float) -> bool:
        if not self.connection.poll(timeout):
            return False
        try:
            status, detail = self.connection.recv()
        except (EOFError, OSError):
            return False
        if status != "ready":
            log.warning("scoring worker could not load the model: %s", detail)
        return status == "ready"

    def send_many(self, requests: list[tuple[str, str, str]]) -> None:
        self.connection.send(requests)

    def receive_many(self, deadline: float) -> list:
        """Each comment's result, or the WorkerFailed for a comment the model failed on."""
        answers = self._answer(max(0.0, deadline - time.monotonic()))
        results = []
        for answer in answers:
            try:
                results.append(_result(answer))
            except WorkerFailed as failure:
                results.append(failure)
        return results

    def _answer(self, timeout: float):
        if not self.connection.poll(timeout):
            raise TimeoutError(f"scoring took longer than {int(timeout * 1000)} ms")
        return self.connection.recv()

    def stop(self) -> None:
        try:
            self.connection.close()
        finally:
            self.process.kill()
            self.process.join(5)


def _result(answer: tuple[str, object]):
    status, result = answer
    if status != "ok":
        raise WorkerFailed(result)
    return result
