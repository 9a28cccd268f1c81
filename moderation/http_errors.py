"""The one place errors become HTTP: problem+json (RFC 9457) on /api, localised pages in the console, plain pages elsewhere."""
from __future__ import annotations

import json
import logging

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from moderation import errors
from moderation.api import messages

log = logging.getLogger(__name__)
PROBLEM_TYPE_BASE = "/api/v1/problems/"

STATUS_BY_ERROR: dict[type[errors.ModerationError], int] = {
    errors.FieldErrors: 422,
    errors.NotFound: 404,
    errors.InvalidParent: 422,
    errors.DuplicateComment: 409,
    errors.FloodDetected: 429,
    errors.RateLimited: 429,
    errors.InvalidTransition: 409,
    errors.StaleVersion: 409,
    errors.IdempotencyMismatch: 422,
    errors.IdempotencyInFlight: 409,
    errors.Unauthenticated: 401,
    errors.DatabaseUnavailable: 503,
    errors.MalformedJson: 400,
    errors.Forbidden: 403,
    errors.InvalidReason: 422,
}

CODE_BY_HTTP_STATUS = {
    400: "bad-request", 401: "unauthenticated", 404: "not-found", 405: "method-not-allowed",
    413: "payload-too-large", 415: "unsupported-media-type", 429: "rate-limited", 503: "service-unavailable",
}

RETRY_AFTER_UNAVAILABLE = 5


def problem_response(status: int, code: str, *, detail: str | None = None, field_errors=None,
                     headers: dict | None = None, extra: dict | None = None) -> Response:
    language = messages.request_language()
    body = {"type": PROBLEM_TYPE_BASE + code, "title": messages.title(code, language), "status": status}
    if detail:
        body["detail"] = detail
    body["code"] = code
    if field_errors is not None:
        body["errors"] = field_errors
    body.update(extra or {})
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json")
    response.headers["Content-Language"] = language
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def localise_field_errors(raw: dict[str, list[str]]) -> list[dict]:
    language = messages.request_language()
    listed = []
    for field, codes in raw.items():
        for message_code in codes if isinstance(codes, list) else [str(codes)]:
            code, text = messages.field_message(field, str(message_code), language)
            listed.append({"field": field, "code": code, "message": text})
    return listed


# Where webargs files its messages, and where marshmallow files errors of the whole schema.
_WRAPPERS = {"json", "query", "form", "headers", "_schema"}


def flatten_messages(messages: dict) -> dict[str, list[str]]:
    """marshmallow/webargs messages as field -> message codes, the shape of a problem's `errors`.

    Location and schema wrappers are unwrapped; an error inside a list (event_types[1]) is
    reported on the list's own field name."""
    flat: dict[str, list[str]] = {}
    for field, value in messages.items():
        if isinstance(value, dict):
            if field in _WRAPPERS:
                nested = flatten_messages(value)
            else:
                nested = {}
                for inner, codes in value.items():
                    name = field if isinstance(inner, int) else inner
                    for key, found in flatten_messages({name: codes}).items():
                        nested.setdefault(key, []).extend(found)
            for key, codes in nested.items():
                flat.setdefault(key, []).extend(codes)
        else:
            flat.setdefault(str(field), []).extend(value if isinstance(value, list) else [value])
    return flat


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _console_page(status: int, code: str):
    """A console page for the error, or None outside the console (or before the console is set up)."""
    from moderation.ui import error_pages

    if _is_api() or not error_pages.is_console():
        return None
    try:
        return error_pages.render_error(status, code)
    except Exception:  # an error page must never raise: fall back to the plain response
        log.exception("console error page failed")
        return None


def handle_domain_error(error: errors.ModerationError):
    status = STATUS_BY_ERROR.get(type(error), 400)
    page = _console_page(status, error.code)
    if page is not None:
        return page
    headers = {}
    extra = {}
    if isinstance(error, (errors.FloodDetected, errors.RateLimited)):
        headers["Retry-After"] = str(error.retry_after)
        extra["retry_after"] = error.retry_after
    if isinstance(error, errors.DatabaseUnavailable):
        log.error("database unavailable: %s", error.detail)
        headers["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE)
    if isinstance(error, errors.Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="moderation"'
    field_errors = localise_field_errors(error.errors) if isinstance(error, errors.FieldErrors) else None
    detail = None if isinstance(error, (errors.FieldErrors, errors.DatabaseUnavailable)) else error.detail
    return problem_response(status, error.code, detail=detail, field_errors=field_errors, headers=headers, extra=extra)


def handle_http_exception(error: HTTPException):
    if not _is_api():
        if (error.code or 500) < 400:  # routing redirects (a missing trailing slash) are not errors
            return error
        from flask_wtf.csrf import CSRFError

        code = "csrf" if isinstance(error, CSRFError) else CODE_BY_HTTP_STATUS.get(error.code or 500, "error")
        return _console_page(error.code or 500, code) or error
    status = error.code or 500
    code = CODE_BY_HTTP_STATUS.get(status, "bad-request" if status < 500 else "internal-error")
    headers = {}
    field_errors = None
    data = getattr(error, "data", None) or {}
    if status == 422 and "messages" in data:  # webargs' parse error for query strings
        field_errors = localise_field_errors(flatten_messages(data["messages"]))
        code = "validation-error"
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    return problem_response(status, code, field_errors=field_errors, headers=headers)


def handle_unexpected(error: Exception):
    log.exception("unhandled error on %s %s", request.method, request.path)
    if _is_api():
        return problem_response(500, "internal-error")
    page = _console_page(500, "internal-error")
    if page is not None:
        return page
    return Response("Erreur interne / Internal error", status=500, mimetype="text/plain")


def register(app: Flask) -> None:
    app.register_error_handler(errors.ModerationError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
