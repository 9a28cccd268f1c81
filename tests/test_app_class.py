"""The app remembers which views are coroutine functions without growing per request."""
from __future__ import annotations

from flask.views import MethodView


def test_ensure_sync_returns_sync_functions_as_they_are_and_remembers_once_per_function(app):
    class View(MethodView):
        def get(self):
            return "ok"

    def hook():
        return None

    assert app.ensure_sync(hook) is hook
    remembered = len(app._is_coroutine)
    for _ in range(50):  # a MethodView hands over a new bound method every request
        bound = View().get
        assert app.ensure_sync(bound) == bound
    assert len(app._is_coroutine) == remembered + 1  # one entry for View.get, not one per bound method
    assert set(app._is_coroutine) >= {hook, View.get}


def test_requests_still_reach_the_views(client):
    assert client.get("/healthz").status_code == 200
