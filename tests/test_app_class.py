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
    for _ in range(50):  # a MethodView hands over a new bound method every request
        bound = View().get
        assert app.ensure_sync(bound) == bound
    assert sum(1 for key in app._is_coroutine if key in (hook, View.get)) == 2
    assert len(app._is_coroutine) <= 2 + 64  # hooks registered by the app itself, not one per call


def test_requests_still_reach_the_views(client):
    assert client.get("/healthz").status_code == 200
