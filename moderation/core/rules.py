"""Admins' rules: blocked and watched terms, link limit, ban and allow lists, trusted authors."""
from __future__ import annotations

import datetime as dt
import ipaddress
import re
import threading
import time
import unicodedata
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from moderation.classifier.features import normalise
from moderation.core.db import transaction
from moderation.core.models import AuditEntry, Comment, Moderator, Rule, Site
from moderation.core.status import CommentStatus
from moderation.errors import Forbidden, InvalidReason, NotFound

TERM_KINDS = ("blocked_term", "watched_term")
LIST_KINDS = ("ban", "allow")
TARGETS = ("email", "domain", "ip", "network")
_LINK_RE = re.compile(r"https?://|www\.", re.I)
_CACHE_SECONDS = 5.0


_DOUBLED_RE = re.compile(r"(\w)\1+")


def fold(text: str) -> str:
    """The classifier's normalisation (Arabic letters, elongation, Arabizi, leet) without accents.

    Doubled letters are also folded, on terms and text alike, so "حمار" matches "حماااار".
    """
    decomposed = unicodedata.normalize("NFD", normalise(text))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _DOUBLED_RE.sub(r"\1", unicodedata.normalize("NFC", plain))


def term_pattern(term: str) -> re.Pattern:
    """Whole words only; `*` at either end is a wildcard ("press" never matches "WordPress")."""
    folded = fold(term.replace("*", " xwildcardx "))
    parts = [re.escape(part) for part in folded.split()]
    body = r"\s+".join(parts).replace("xwildcardx" + r"\s+", r"\w*").replace(r"\s+" + "xwildcardx", r"\w*")
    body = body.replace("xwildcardx", r"\w*")
    return re.compile(rf"(?<!\w){body}(?!\w)")


@dataclass
class RuleSignals:
    """What the rules found on one submission; the policy turns it into a status."""

    blocked: list[dict] = field(default_factory=list)
    watched: list[dict] = field(default_factory=list)
    too_many_links: dict | None = None
    banned: dict | None = None
    allowed: dict | None = None
    trusted: dict | None = None

    def reasons(self) -> list[dict]:
        found = [*self.blocked, *self.watched]
        for item in (self.too_many_links, self.banned, self.allowed, self.trusted):
            if item:
                found.append(item)
        return found


@dataclass(frozen=True)
class _CompiledRules:
    terms: list[tuple[Rule, re.Pattern]]
    lists: list[Rule]
    loaded_at: float


_cache: dict[int, _CompiledRules] = {}
_cache_lock = threading.Lock()


_forget_callbacks: list = []


def forget_cached_rules() -> None:
    with _cache_lock:
        _cache.clear()
    for callback in list(_forget_callbacks):
        callback()


def on_forget(callback) -> None:
    """Call `callback` whenever this process's rules change (the intake writer process caches them too)."""
    _forget_callbacks.append(callback)


def off_forget(callback) -> None:
    if callback in _forget_callbacks:
        _forget_callbacks.remove(callback)


def _rules_for(session: Session, site_id: int) -> _CompiledRules:
    # Rules change rarely and intake is hot: other processes see a change within a few seconds.
    cached = _cache.get(site_id)
    if cached and time.monotonic() - cached.loaded_at < _CACHE_SECONDS:
        return cached
    rules = list(session.scalars(sa.select(Rule).where(sa.or_(Rule.site_id == site_id, Rule.site_id.is_(None)))))
    for rule in rules:
        session.expunge(rule)
    compiled = _CompiledRules([(r, term_pattern(r.value)) for r in rules if r.kind in TERM_KINDS],
                              [r for r in rules if r.kind in LIST_KINDS], time.monotonic())
    with _cache_lock:
        _cache[site_id] = compiled
    return compiled


def _list_hit(rule: Rule, email: str, ip: str | None) -> bool:
    value = rule.value.lower()
    if rule.target == "email":
        return email.lower() == value
    if rule.target == "domain":
        domain = email.rsplit("@", 1)[-1].lower()
        return domain == value or domain.endswith("." + value)
    if ip and rule.target in ("ip", "network"):
        try:
            return ipaddress.ip_address(ip) in ipaddress.ip_network(value, strict=False)
        except ValueError:
            return False
    return False


def evaluate(session: Session, site: Site, data: dict) -> RuleSignals:
    """Every rule that touches this submission, as reasons a moderator can read."""
    compiled = _rules_for(session, site.id)
    signals = RuleSignals()
    # Folding costs as much as the rest of intake's checks: only when there are terms to look for.
    text = fold(" ".join(filter(None, [data.get("author_name"), data["content"]]))) if compiled.terms else ""
    for rule, pattern in compiled.terms:
        match = pattern.search(text)
        if match:
            entry = {"code": rule.kind, "rule_id": rule.id, "term": rule.value, "matched": match.group(0)}
            (signals.blocked if rule.kind == "blocked_term" else signals.watched).append(entry)
    links = len(_LINK_RE.findall(data["content"]))
    if site.link_limit and links >= site.link_limit:
        signals.too_many_links = {"code": "too_many_links", "links": links, "limit": site.link_limit}
    for rule in compiled.lists:
        if _list_hit(rule, data["author_email"], data.get("author_ip")):
            entry = {"code": "banned" if rule.kind == "ban" else "allowed", "rule_id": rule.id,
                     "target": rule.target, "value": rule.value}
            if rule.kind == "ban" and signals.banned is None:
                signals.banned = entry
            elif rule.kind == "allow" and signals.allowed is None:
                signals.allowed = entry
    if site.trusted_author_after:
        approved = session.scalar(sa.select(sa.func.count(Comment.id)).where(
            Comment.site_id == site.id, Comment.author_email == data["author_email"],
            Comment.status == CommentStatus.APPROVED))
        if approved >= site.trusted_author_after:
            signals.trusted = {"code": "trusted_author", "approved": approved}
    return signals


def _require_admin(by: Moderator | None) -> None:
    # None is the operator at the command line; in the console and API only admins manage rules.
    if by is not None and (by.role != "admin" or not by.active):
        raise Forbidden("only admins manage rules")


def add_rule(session: Session, *, kind: str, value: str, target: str | None = None, site_id: int | None = None,
             note: str | None = None, by: Moderator | None, now: dt.datetime) -> Rule:
    _require_admin(by)
    value = value.strip()
    if kind not in TERM_KINDS + LIST_KINDS:
        raise InvalidReason("unknown rule kind", kinds=list(TERM_KINDS + LIST_KINDS))
    if not value or len(value) > 255:
        raise InvalidReason("a rule needs a value of at most 255 characters")
    if kind in LIST_KINDS:
        if target not in TARGETS:
            raise InvalidReason("ban and allow rules need a target", targets=list(TARGETS))
        if target in ("ip", "network"):
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError as error:
                raise InvalidReason("not an IP address or network") from error
    else:
        target = None
    with transaction(session):
        rule = Rule(kind=kind, value=value, target=target, site_id=site_id, note=note,
                    created_by=by.id if by else None, created_at=now)
        session.add(rule)
        session.flush()
        session.add(AuditEntry(moderator_id=by.id if by else None, action="rule.added", target=f"rule:{rule.id}",
                               details={"kind": kind, "value": value, "target": target}, created_at=now))
    forget_cached_rules()
    return rule


def remove_rule(session: Session, rule_id: int, *, by: Moderator | None, now: dt.datetime) -> None:
    _require_admin(by)
    with transaction(session):
        rule = session.get(Rule, rule_id)
        if rule is None:
            raise NotFound("no such rule", rule_id=rule_id)
        session.add(AuditEntry(moderator_id=by.id if by else None, action="rule.removed", target=f"rule:{rule.id}",
                               details={"kind": rule.kind, "value": rule.value}, created_at=now))
        session.delete(rule)
    forget_cached_rules()


def list_rules(session: Session, site_id: int | None = None) -> list[Rule]:
    query = sa.select(Rule).order_by(Rule.kind, Rule.value)
    if site_id is not None:
        query = query.where(sa.or_(Rule.site_id == site_id, Rule.site_id.is_(None)))
    return list(session.scalars(query))
