"""Sites (the news sites that post comments) and their API keys."""
from __future__ import annotations

import hashlib
import secrets
import time

import sqlalchemy as sa
from sqlalchemy.orm import Session

from moderation.core.db import reading, transaction
from moderation.core.models import Site
from moderation.errors import ModerationError, Unauthenticated

KEY_PREFIX = "mod_"


class SiteNameTaken(ModerationError):
    code = "site-name-taken"


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8", "surrogatepass")).hexdigest()


def create_site(session: Session, name: str) -> tuple[Site, str]:
    """Create a site; return it with its API key, which is shown once and stored only hashed."""
    name = name.strip()
    if not name:
        raise ModerationError("a site needs a name")
    api_key = KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction(session):
        if session.scalar(sa.select(Site.id).where(Site.name == name)) is not None:
            raise SiteNameTaken(f"a site named {name!r} already exists", name=name)
        site = Site(name=name, api_key_hash=hash_api_key(api_key), api_key_prefix=api_key[:10])
        session.add(site)
    return site, api_key


def list_sites(session: Session) -> list[Site]:
    with reading(session):
        return list(session.scalars(sa.select(Site).order_by(Site.id)))


def count_sites(session: Session) -> int:
    with reading(session):
        return session.scalar(sa.select(sa.func.count(Site.id))) or 0


# Every intake request authenticates; a few seconds of staleness (a disabled site, a changed
# setting) is worth one query less per comment.
AUTH_CACHE_SECONDS = 10.0
_auth_cache: dict[str, tuple[float, Site]] = {}


def forget_cached_sites() -> None:
    _auth_cache.clear()


def authenticate_site(session: Session, api_key: str | None) -> Site:
    """Return the active site owning this key, or raise Unauthenticated."""
    if not api_key:
        raise Unauthenticated("missing API key")
    digest = hash_api_key(api_key)
    cached = _auth_cache.get(digest)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    with reading(session):
        site = session.scalar(sa.select(Site).where(Site.api_key_hash == digest, Site.active.is_(True)))
        if site is None:
            raise Unauthenticated("unknown API key")
        session.expunge(site)
    _auth_cache[digest] = (time.monotonic() + AUTH_CACHE_SECONDS, site)
    return site
