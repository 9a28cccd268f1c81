"""Unbound Flask extensions and the per-process classifier holder, bound in create_app."""
from __future__ import annotations

from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()


def _limiter_key() -> str:
    # The intake limit is per site; the site id is put on g by authentication.
    from flask import g, request

    site = getattr(g, "site", None)
    return f"site:{site.id}" if site is not None else f"ip:{request.remote_addr}"


limiter = Limiter(key_func=_limiter_key, default_limits=[], headers_enabled=True)
