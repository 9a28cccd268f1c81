"""The moderator console blueprint at /moderate: CSRF, locale, cookies and security headers."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, current_app, g, request
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

bp = Blueprint("console", __name__, url_prefix="/moderate", template_folder="templates",
               static_folder="static", static_url_path="/static")

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
LANG_COOKIE = "moderation_lang"
CONSOLE_PREFIX = "/moderate"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Moderator pages show e-mails and IPs: the back button after logout must not show them.
    "Cache-Control": "no-store",
}

csrf = CSRFProtect()
babel = Babel()


def select_locale() -> str:
    """An explicit choice (?lang= or its cookie) first, then the moderator's own language, then French."""
    chosen = request.args.get("lang") or request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    moderator = getattr(g, "moderator", None)
    if moderator is not None and moderator.language in LANGUAGES:
        return moderator.language
    return DEFAULT_LANGUAGE


def _protect_forms() -> None:
    # Only the console authenticates with a cookie; the JSON API uses bearer tokens, so it is exempt.
    if not request.path.startswith("/api/"):
        csrf.protect()


def _console_headers(response):
    if request.path.startswith(CONSOLE_PREFIX):
        for name, value in SECURITY_HEADERS.items():
            response.headers[name] = value
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if request.path.startswith(CONSOLE_PREFIX + "/static/"):
            response.headers["Cache-Control"] = "no-cache"
        chosen = request.args.get("lang")
        if chosen in LANGUAGES and request.cookies.get(LANG_COOKIE) != chosen:
            response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, httponly=True, samesite="Lax",
                                secure=current_app.config["MODERATION_CONSOLE_SECURE_COOKIES"])
    return response


def init_app(app: Flask) -> None:
    from moderation.ui import admin, auth, dashboard, decisions, queues, rendering, webhooks  # noqa: F401  (routes)

    secure = bool(app.config.get("MODERATION_CONSOLE_SECURE_COOKIES", True))
    app.config.update(
        # __Host- binds the cookie to this exact origin, over HTTPS, path / (ASVS 3.3.1/3.3.3).
        SESSION_COOKIE_NAME="__Host-moderation" if secure else "moderation_session",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/",
        SESSION_COOKIE_DOMAIN=None,
        WTF_CSRF_CHECK_DEFAULT=False,
        # The server-side session (12 h, revocable) bounds the token; an hour would interrupt a shift.
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        BABEL_DEFAULT_LOCALE=DEFAULT_LANGUAGE,
    )
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "UTC")
    app.config["MODERATION_CONSOLE_SECURE_COOKIES"] = secure
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    app.before_request(_protect_forms)
    app.after_request(_console_headers)
    rendering.register(app)
    app.register_blueprint(bp)
