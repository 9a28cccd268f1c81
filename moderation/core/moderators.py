"""Moderator accounts, console sessions, personal API tokens and login throttling."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from moderation.core.db import reading, transaction
from moderation.core.models import ApiToken, AuditEntry, ConsoleSession, Moderator
from moderation.errors import ModerationError, Unauthenticated

ROLES = ("admin", "moderator", "viewer")
SESSION_LIFETIME = dt.timedelta(hours=12)
TOKEN_PREFIX = "mt_"
# Brute-force policy: this many failures for one e-mail or one IP in the window lock it out.
MAX_FAILURES, FAILURE_WINDOW = 5, dt.timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12

_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory defaults
# Compared against when the e-mail is unknown, so timing does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("not-a-password-" + secrets.token_hex(8))


class AccountError(ModerationError):
    code = "account-error"


class LoginThrottled(ModerationError):
    code = "login-throttled"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_moderator(session: Session, email: str, password: str, *, role: str, name: str | None = None,
                     language: str = "fr") -> Moderator:
    email = email.strip().lower()
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    with transaction(session):
        if session.scalar(sa.select(Moderator.id).where(Moderator.email == email)) is not None:
            raise AccountError(f"a moderator {email} already exists")
        moderator = Moderator(email=email, name=name or email.split("@")[0], role=role,
                              password_hash=_hasher.hash(password), language=language)
        session.add(moderator)
    return moderator


def _failures(session: Session, email: str, ip: str | None, now: dt.datetime) -> int:
    since = now - FAILURE_WINDOW
    by_email = session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(
        AuditEntry.action == "login.failed", AuditEntry.target == email, AuditEntry.created_at > since))
    by_ip = 0
    if ip:
        by_ip = session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(
            AuditEntry.action == "login.failed", AuditEntry.details["ip"].as_string() == ip,
            AuditEntry.created_at > since))
    return max(by_email or 0, (by_ip or 0) // 4)  # an IP may be shared by a newsroom: be looser


def log_in(session: Session, email: str, password: str, *, ip: str | None, user_agent: str | None,
           now: dt.datetime) -> tuple[Moderator, str]:
    """Check the password and open a server-side session; return the moderator and the session token."""
    email = email.strip().lower()
    with reading(session):
        if _failures(session, email, ip, now) >= MAX_FAILURES:
            raise LoginThrottled("too many failed attempts; try again in 15 minutes")
        moderator = session.scalar(sa.select(Moderator).where(Moderator.email == email))
    try:
        _hasher.verify(moderator.password_hash if moderator else _DUMMY_HASH, password)
        ok = moderator is not None and moderator.active
    except (VerificationError, InvalidHashError):
        ok = False
    with transaction(session):
        if not ok:
            session.add(AuditEntry(action="login.failed", target=email, details={"ip": ip}, created_at=now))
    if not ok:
        raise Unauthenticated("wrong e-mail or password")
    token = secrets.token_urlsafe(32)
    with transaction(session):
        session.add(ConsoleSession(token_hash=_digest(token), moderator_id=moderator.id, created_at=now,
                                   expires_at=now + SESSION_LIFETIME, ip=ip, user_agent=(user_agent or "")[:255]))
        session.add(AuditEntry(moderator_id=moderator.id, action="login", target=email, details={"ip": ip},
                               created_at=now))
    return moderator, token


def moderator_for_session(session: Session, token: str | None, now: dt.datetime) -> Moderator | None:
    if not token:
        return None
    with reading(session):
        row = session.execute(
            sa.select(Moderator, ConsoleSession).join(ConsoleSession, ConsoleSession.moderator_id == Moderator.id)
            .where(ConsoleSession.token_hash == _digest(token), ConsoleSession.revoked_at.is_(None),
                   ConsoleSession.expires_at > now, Moderator.active.is_(True))
        ).first()
        return row[0] if row else None


def log_out(session: Session, token: str, now: dt.datetime) -> None:
    with transaction(session):
        session.execute(sa.update(ConsoleSession).where(ConsoleSession.token_hash == _digest(token))
                        .values(revoked_at=now))


def revoke_sessions(session: Session, moderator_id: int, now: dt.datetime) -> None:
    """Inside the caller's transaction: end every console session of a moderator."""
    session.execute(sa.update(ConsoleSession).where(ConsoleSession.moderator_id == moderator_id,
                                                    ConsoleSession.revoked_at.is_(None)).values(revoked_at=now))


def change_password(session: Session, moderator_id: int, new_password: str, now: dt.datetime) -> None:
    if len(new_password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    with transaction(session):
        moderator = session.get(Moderator, moderator_id)
        moderator.password_hash = _hasher.hash(new_password)
        revoke_sessions(session, moderator_id, now)
        session.add(AuditEntry(moderator_id=moderator_id, action="password.changed", target=moderator.email,
                               created_at=now))


def set_active(session: Session, moderator_id: int, active: bool, *, by: Moderator, now: dt.datetime) -> None:
    with transaction(session):
        moderator = session.get(Moderator, moderator_id)
        moderator.active = active
        if not active:
            revoke_sessions(session, moderator_id, now)
            session.execute(sa.update(ApiToken).where(ApiToken.moderator_id == moderator_id,
                                                      ApiToken.revoked_at.is_(None)).values(revoked_at=now))
        session.add(AuditEntry(moderator_id=by.id, action="moderator.enabled" if active else "moderator.disabled",
                               target=moderator.email, created_at=now))


def create_token(session: Session, email: str, now: dt.datetime) -> str:
    """A new personal API token, returned once and stored hashed."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction(session):
        moderator = session.scalar(sa.select(Moderator).where(Moderator.email == email.strip().lower()))
        if moderator is None:
            raise AccountError(f"no moderator {email}")
        session.add(ApiToken(moderator_id=moderator.id, token_hash=_digest(token), prefix=token[:10], created_at=now))
    return token


def moderator_for_token(session: Session, token: str | None) -> Moderator:
    if not token or not token.startswith(TOKEN_PREFIX):
        raise Unauthenticated("missing or unknown moderator token")
    with reading(session):
        row = session.execute(
            sa.select(Moderator).join(ApiToken, ApiToken.moderator_id == Moderator.id)
            .where(ApiToken.token_hash == _digest(token), ApiToken.revoked_at.is_(None), Moderator.active.is_(True))
        ).first()
        if row is None:
            raise Unauthenticated("missing or unknown moderator token")
        session.expunge(row[0])
        return row[0]
