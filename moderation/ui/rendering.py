"""Template helpers: highlighted comment text, masked e-mails, reason labels, safe links, times."""
from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

from flask import Flask
from flask_babel import format_datetime, format_decimal, format_timedelta, get_locale, gettext as _, lazy_gettext
from markupsafe import Markup, escape

REASON_LABELS = {
    "spam": lazy_gettext("Spam or advertising"),
    "insult": lazy_gettext("Insult or harassment"),
    "hate": lazy_gettext("Hate"),
    "threat": lazy_gettext("Threat"),
    "off_topic": lazy_gettext("Off topic"),
    "personal_data": lazy_gettext("Personal data"),
    "duplicate": lazy_gettext("Duplicate"),
    "other": lazy_gettext("Other"),
}
STATUS_LABELS = {
    "pending": lazy_gettext("pending"),
    "approved": lazy_gettext("approved"),
    "rejected": lazy_gettext("rejected"),
    "spam": lazy_gettext("marked as spam"),
}
QUEUE_LABELS = {
    "pending": lazy_gettext("To moderate"),
    "reported": lazy_gettext("Reported"),
    "spam": lazy_gettext("Spam"),
    "approved": lazy_gettext("Approved"),
    "rejected": lazy_gettext("Rejected"),
}
RULE_KIND_LABELS = {
    "blocked_term": lazy_gettext("Blocked term (rejected)"),
    "watched_term": lazy_gettext("Watched term (held)"),
    "ban": lazy_gettext("Ban (to spam)"),
    "allow": lazy_gettext("Allow"),
}
ROLE_LABELS = {
    "admin": lazy_gettext("administrator"),
    "moderator": lazy_gettext("moderator"),
    "viewer": lazy_gettext("viewer"),
}
ACTION_LABELS = {
    "received": lazy_gettext("received"),
    "approve": lazy_gettext("approved"),
    "reject": lazy_gettext("rejected"),
    "spam": lazy_gettext("marked as spam"),
    "not_spam": lazy_gettext("marked as not spam"),
    "restore": lazy_gettext("restored to the queue"),
    "dismiss_reports": lazy_gettext("reports dismissed"),
}


def highlight(text: str, explanation: dict | None) -> Markup:
    """The comment text, escaped, with the words that drove a score wrapped in <mark>.

    Matches are found on the raw text and every piece is escaped before the tags are put
    around it: matching inside escaped text could cut an entity such as &amp; in two.
    """
    terms = sorted({item["term"] for head in ("spam", "abuse") for item in (explanation or {}).get(head) or []
                    if isinstance(item, dict) and str(item.get("term") or "").strip()}, key=len, reverse=True)
    if not terms:
        return Markup(escape(text))
    pattern = re.compile("|".join(rf"(?<!\w){re.escape(term.strip())}(?!\w)" for term in terms), re.IGNORECASE)
    pieces, last = [], 0
    for match in pattern.finditer(text):
        pieces.append(escape(text[last:match.start()]))
        pieces.append(Markup("<mark>%s</mark>") % match.group(0))
        last = match.end()
    pieces.append(escape(text[last:]))
    return Markup("").join(pieces)


def mask_email(email: str) -> str:
    """a•••@example.org: enough to tell two authors apart, not enough to write to them."""
    local, _at, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"


def safe_url(url: str | None) -> str | None:
    """Only http(s) links are clickable: javascript: and data: URLs from a site are shown as text."""
    if not url:
        return None
    return url if urlsplit(url.strip()).scheme.lower() in ("http", "https") else None


def _score(reason: dict) -> str:
    try:
        return format_decimal(float(reason.get("score", 0)), format="0.00")
    except (TypeError, ValueError):
        return "?"


def reason_text(reason: dict) -> str:
    """A rule or score reason from core, as a sentence a moderator reads."""
    code = reason.get("code")
    if code == "likely_spam":
        return _("Likely spam (score %(score)s)", score=_score(reason))
    if code == "likely_abusive":
        return _("Likely abusive (score %(score)s)", score=_score(reason))
    if code == "blocked_term":
        return _("Blocked term: %(term)s", term=reason.get("term", ""))
    if code == "watched_term":
        return _("Watched term: %(term)s", term=reason.get("term", ""))
    if code == "too_many_links":
        return _("%(links)s links (limit %(limit)s)", links=reason.get("links"), limit=reason.get("limit"))
    if code == "banned":
        return _("Banned %(target)s: %(value)s", target=reason.get("target", ""), value=reason.get("value", ""))
    if code == "allowed":
        return _("Allowed %(target)s: %(value)s", target=reason.get("target", ""), value=reason.get("value", ""))
    if code == "trusted_author":
        return _("Trusted author (%(n)s approved comments)", n=reason.get("approved"))
    if code == "auto_approved":
        return _("Approved automatically")
    if code == "auto_spam":
        return _("Spam automatically (score %(score)s)", score=_score(reason))
    if code == "unscored":
        return _("Not scored: %(detail)s", detail=reason.get("detail", ""))
    return str(code)


def when(value: dt.datetime | None, fmt: str = "short") -> str:
    return format_datetime(value, fmt) if value else ""


def hhmm(value: dt.datetime | str | None) -> str:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return format_datetime(value, "HH:mm") if value else ""


def delay(value: dt.timedelta) -> str:
    return format_timedelta(value, threshold=1.5)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)} %"


def register(app: Flask) -> None:
    app.jinja_env.filters.update(highlight=highlight, mask_email=mask_email, safe_url=safe_url,
                                 reason_text=reason_text, when=when, hhmm=hhmm, percent=percent, delay=delay)
    app.jinja_env.globals.update(REASON_LABELS=REASON_LABELS, STATUS_LABELS=STATUS_LABELS,
                                 QUEUE_LABELS=QUEUE_LABELS, ACTION_LABELS=ACTION_LABELS,
                                 ROLE_LABELS=ROLE_LABELS, RULE_KIND_LABELS=RULE_KIND_LABELS)
    app.context_processor(lambda: {"locale": str(get_locale() or "fr")})
