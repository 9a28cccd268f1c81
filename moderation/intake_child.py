"""The intake writer process's side: read comments, score each batch with its own model, write it, answer."""
from __future__ import annotations

import os
import pickle
import signal
import threading

from moderation.core import rules

STOP = "stop"  # the server's last message: write what was read, then end


def serve(connection, overrides: dict, max_batch: int, analyze_after: int, scoring: tuple) -> None:
    """The child: build the app's engine, load the model, then score and write what arrives, a batch
    at a time, until told to stop. `scoring` is (budget in seconds, the server's model source or None)."""
    # Ctrl-C in a terminal reaches the whole process group: the server stops the child itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        from moderation import create_app
        from moderation.extensions import db
        from moderation.intake_writer import BatchStore

        from moderation.webhooks.worker import on_wake
        from moderation.writer_scoring import ModelCopy

        app = create_app({**overrides, "LOAD_MODEL": False, "WEBHOOK_WORKER": False})
        app.app_context().push()
        store = BatchStore(db.engine, app.extensions["moderation.intake_settings"].flood_interval, analyze_after)
        # Set by a commit that wrote an event waiting for the relay: the server then wakes its worker.
        relay_waits = threading.Event()
        on_wake(relay_waits)
        budget_s, preload = scoring
        models = ModelCopy(budget_s)
        if preload is not None:
            models.scorer_for(preload)  # before "ready": the first comments need not wait for it
    except Exception as error:  # noqa: BLE001 - reported to the parent, which writes in process
        connection.send(("failed", f"{type(error).__name__}: {error}"))
        return
    connection.send(("ready", os.getpid()))
    stopping = False
    try:
        while not stopping:
            items = []
            try:
                message = connection.recv()
                while True:
                    if message == STOP:
                        stopping = True
                        break
                    sequence, submission, forget_rules, asked = message
                    if forget_rules:
                        rules.forget_cached_rules()
                    items.append((sequence, submission, asked))
                    if len(items) >= max_batch or not connection.poll():
                        break
                    message = connection.recv()
            except (EOFError, OSError):
                stopping = True  # the server is gone: write what was read, then end
            if items:
                submissions, report = models.score([item[1] for item in items], [item[2] for item in items])
                results = store.write(submissions)
                wake = relay_waits.is_set()
                relay_waits.clear()
                connection.send(([(item[0], portable(result)) for item, result in zip(items, results)], wake, report))
    except OSError:
        pass  # nobody left to answer: what was committed stays committed
    finally:
        store.close()


def portable(result):
    """Results cross the pipe pickled; an unexpected error that will not pickle goes as its description."""
    if isinstance(result, BaseException):
        if not isinstance(result, Exception):  # KeyboardInterrupt, SystemExit: not the request's to raise
            return RuntimeError(f"{type(result).__name__} in the intake writer process")
        try:
            pickle.loads(pickle.dumps(result))
        except Exception:  # noqa: BLE001 - any error of any library may come here
            return RuntimeError(f"{type(result).__name__}: {result}")
    return result
