"""Unbound Flask extensions and the per-process classifier holder, bound in create_app."""
from __future__ import annotations

from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from moderation import ratelimit  # noqa: F401  registers the inline-memory:// storage scheme
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


# Use cases commit, then the caller renders what was committed: no reload query after commit.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()


def _limiter_key() -> str:
    # The intake limit is per site; the site id is put on g by authentication.
    from flask import g, request

    site = getattr(g, "site", None)
    return f"site:{site.id}" if site is not None else f"ip:{request.remote_addr}"


# Headers are ours: Flask-Limiter would put its own Retry-After on every response, floods included.
limiter = Limiter(key_func=_limiter_key, default_limits=[], headers_enabled=False)
