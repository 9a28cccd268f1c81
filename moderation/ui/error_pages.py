"""Console errors as readable, localised pages (or JSON messages for the console's own script)."""
from __future__ import annotations

from flask import jsonify, render_template, request
from flask_babel import gettext as _

from moderation.ui import CONSOLE_PREFIX


def is_console() -> bool:
    return request.path.startswith(CONSOLE_PREFIX)


def _message(status: int, code: str) -> str:
    if code == "csrf":
        return _("This form has expired or did not come from the console. Reload the page and try again.")
    messages = {
        400: _("The request could not be understood."),
        401: _("Your session has ended: please log in again."),
        403: _("Your role does not allow this action."),
        404: _("This page or comment does not exist."),
        405: _("This address does not accept that kind of request."),
        409: _("Someone changed this first. Reload to see the current state."),
        413: _("The request is too large."),
        422: _("Some values are invalid."),
        429: _("Too many requests: wait a moment and try again."),
        503: _("The database is unavailable for a moment: try again shortly."),
    }
    return messages.get(status, _("Something went wrong on our side. The error was logged."))


def render_error(status: int, code: str):
    message = _message(status, code)
    if request.headers.get("X-Requested-With") == "fetch":
        return jsonify(ok=False, code=code, message=message), status
    return render_template("console/error.html", status=status, message=message), status
