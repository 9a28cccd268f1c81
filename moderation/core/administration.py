"""Admins' account, token and site-setting changes, and the audited reveal of an author's e-mail."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from moderation.core.db import reading, transaction
from moderation.core.models import ApiToken, AuditEntry, Comment, Moderator, Site
from moderation.core.moderators import ROLES, AccountError
from moderation.errors import FieldErrors, NotFound

SITE_SETTINGS = ("link_limit", "report_threshold", "allow_list_auto_approve", "trusted_author_after")


def record_audit(session: Session, *, by: Moderator | None, action: str, target: str | None,
                 details: dict | None = None, now: dt.datetime) -> None:
    """One audit row in its own transaction (for changes whose use case does not write one)."""
    with transaction(session):
        session.add(AuditEntry(moderator_id=by.id if by else None, action=action, target=target,
                               details=details or {}, created_at=now))


def reveal_email(session: Session, comment_id: int, *, by: Moderator, now: dt.datetime) -> str:
    """The author's full e-mail; who looked, and when, is written to the audit log first."""
    with transaction(session):
        comment = session.get(Comment, comment_id) if 1 <= comment_id <= 2**31 - 1 else None
        if comment is None:
            raise NotFound("no such comment", comment_id=comment_id)
        session.add(AuditEntry(moderator_id=by.id, action="email.revealed", target=f"comment:{comment_id}",
                               details={"author_email": comment.author_email}, created_at=now))
        return comment.author_email


def list_moderators(session: Session) -> list[Moderator]:
    with reading(session):
        rows = list(session.scalars(sa.select(Moderator).order_by(Moderator.active.desc(), Moderator.email)))
        for row in rows:
            session.expunge(row)
        return rows


def set_role(session: Session, moderator_id: int, role: str, *, by: Moderator, now: dt.datetime) -> None:
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if moderator_id == by.id and role != "admin":
        # The last admin demoting themselves would lock everyone out of the settings.
        raise AccountError("an admin cannot change their own role")
    with transaction(session):
        moderator = session.get(Moderator, moderator_id)
        if moderator is None:
            raise NotFound("no such moderator", moderator_id=moderator_id)
        before, moderator.role = moderator.role, role
        session.add(AuditEntry(moderator_id=by.id, action="moderator.role", target=moderator.email,
                               details={"before": before, "after": role}, created_at=now))


def list_tokens(session: Session) -> list[tuple[ApiToken, str]]:
    """Every personal token with its owner's e-mail, newest first."""
    with reading(session):
        rows = session.execute(sa.select(ApiToken, Moderator.email).join(Moderator, Moderator.id == ApiToken.moderator_id)
                               .order_by(ApiToken.id.desc())).all()
        for token, _email in rows:
            session.expunge(token)
        return [(token, email) for token, email in rows]


def revoke_token(session: Session, token_id: int, *, by: Moderator, now: dt.datetime) -> None:
    with transaction(session):
        token = session.get(ApiToken, token_id)
        if token is None:
            raise NotFound("no such token", token_id=token_id)
        if token.revoked_at is None:
            token.revoked_at = now
            session.add(AuditEntry(moderator_id=by.id, action="token.revoked", target=f"token:{token.prefix}",
                                   created_at=now))


def update_site_settings(session: Session, site_id: int, values: dict, *, by: Moderator, now: dt.datetime) -> Site:
    """Change a site's moderation policy; the audit row keeps before and after."""
    errors = {}
    for name in ("link_limit", "report_threshold"):
        if not isinstance(values.get(name), int) or not 0 <= values[name] <= 1000:
            errors[name] = ["not_an_integer"]
    trusted = values.get("trusted_author_after")
    if trusted is not None and (not isinstance(trusted, int) or not 1 <= trusted <= 1000):
        errors["trusted_author_after"] = ["not_an_integer"]
    if errors:
        raise FieldErrors(errors)
    with transaction(session):
        site = session.get(Site, site_id)
        if site is None:
            raise NotFound("no such site", site_id=site_id)
        before = {name: getattr(site, name) for name in SITE_SETTINGS}
        for name in SITE_SETTINGS:
            setattr(site, name, values.get(name) if name == "trusted_author_after" else values[name])
        after = {name: getattr(site, name) for name in SITE_SETTINGS}
        session.add(AuditEntry(moderator_id=by.id, action="site.settings", target=f"site:{site.id}",
                               details={"before": before, "after": after}, created_at=now))
    return site


def list_audit(session: Session, limit: int = 50) -> list[tuple[AuditEntry, str | None]]:
    with reading(session):
        rows = session.execute(sa.select(AuditEntry, Moderator.email)
                               .outerjoin(Moderator, Moderator.id == AuditEntry.moderator_id)
                               .order_by(AuditEntry.id.desc()).limit(limit)).all()
        for entry, _email in rows:
            session.expunge(entry)
        return [(entry, email) for entry, email in rows]
