"""Queue pages with filters, search and keyset paging, and the comment card (full page or fragment)."""
from __future__ import annotations

import datetime as dt

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from moderation.core.queues import QUEUES, QueueFilter, get_comment_context, list_queue
from moderation.core.reasons import REJECTION_REASONS
from moderation.errors import FieldErrors, NotFound
from moderation.extensions import db
from moderation.ui import bp
from moderation.ui.auth import VIEWING_ROLES, now, requires

PAGE_SIZE = 20
FILTER_ARGS = ("likely_spam", "likely_abusive", "lang", "article", "q", "author", "email", "ip", "since", "until")


def _day(value: str, field: str, errors: list[str]) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        errors.append(field)
        return None


def read_filter(args) -> tuple[QueueFilter, dict]:
    """The queue filter from the query string, and the arguments to keep in links."""
    kept = {name: args.get(name, "").strip()[:200] for name in FILTER_ARGS if args.get(name, "").strip()}
    errors: list[str] = []
    since = _day(kept.get("since", ""), "since", errors)
    until = _day(kept.get("until", ""), "until", errors)
    for field in errors:
        flash(_("Ignored an invalid date (expected YYYY-MM-DD)."), "error")
        kept.pop(field, None)
    flt = QueueFilter(
        likely_spam=bool(kept.get("likely_spam")), likely_abusive=bool(kept.get("likely_abusive")),
        language=kept.get("lang"), article_id=kept.get("article"), text=kept.get("q"),
        author=kept.get("author"), email=kept.get("email"), ip=kept.get("ip"), since=since,
        # The "until" day is included: the filter ends at the next midnight.
        until=until + dt.timedelta(days=1) if until else None,
    )
    return flt, kept


def queue_page(name: str, flt: QueueFilter, cursor: str | None):
    if name not in QUEUES:
        abort(404)
    # Pending comments a colleague has open are skipped, so two people do not read the same one.
    skip = g.moderator.id if name == "pending" else None
    return list_queue(db.session, name, flt, cursor=cursor, limit=PAGE_SIZE, skip_claimed_by_others=skip, now=now())


def card_context(comment_id: int, queue: str = "pending", revealed_email: str | None = None) -> dict:
    context = get_comment_context(db.session, comment_id)
    claimed_by_other = (context.comment.claimed_by not in (None, g.moderator.id)
                        and context.comment.claimed_until and context.comment.claimed_until > now())
    return {"ctx": context, "c": context.comment, "queue": queue, "reasons": REJECTION_REASONS,
            "revealed_email": revealed_email, "claimed_by_other": claimed_by_other}


@bp.get("/")
def home():
    return redirect(url_for("console.queue", name="pending"))


@bp.get("/queue/<name>")
@requires(VIEWING_ROLES)
def queue(name: str):
    flt, kept = read_filter(request.args)
    cursor = request.args.get("cursor") or None
    try:
        page = queue_page(name, flt, cursor)
    except FieldErrors:
        flash(_("This page link is no longer valid; back to the first page."), "error")
        return redirect(url_for("console.queue", name=name, **kept))
    opened = request.args.get("open", type=int) or (page.comments[0].id if page.comments else None)
    card = None
    if opened is not None:
        try:
            card = card_context(opened, name)
        except NotFound:
            card = None
    return render_template("console/queue.html", name=name, page=page, kept=kept, cursor=cursor,
                           card=card, opened=opened, queues=QUEUES)


@bp.get("/comments/<int:comment_id>")
@requires(VIEWING_ROLES)
def comment(comment_id: int):
    queue_name = request.args.get("queue", "pending")
    return render_template("console/comment.html", **card_context(comment_id, queue_name))


@bp.get("/comments/<int:comment_id>/card")
@requires(VIEWING_ROLES)
def card(comment_id: int):
    """The card alone, for the script that swaps the next comment in without reloading the page."""
    return render_template("console/_card.html", **card_context(comment_id, request.args.get("queue", "pending")))
