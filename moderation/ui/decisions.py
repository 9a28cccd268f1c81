"""Moderators' actions from the console: decide, bulk decide, claim, dismiss reports, reveal, ban."""
from __future__ import annotations

from flask import flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _, ngettext

from moderation.core.administration import reveal_email
from moderation.core.queues import get_comment_context, list_queue
from moderation.core.review import ACTIONS, DecisionRequest, claim_comment, decide_many, dismiss_reports, decide_comment
from moderation.core.rules import add_rule
from moderation.errors import InvalidReason, InvalidTransition, StaleVersion
from moderation.extensions import db
from moderation.ui import bp
from moderation.ui.auth import ADMIN_ROLES, DECIDING_ROLES, VIEWING_ROLES, now, requires, wants_json
from moderation.ui.queues import card_context, read_filter
from moderation.ui.rendering import ACTION_LABELS, STATUS_LABELS, hhmm

BULK_CHUNK = 500
BULK_MAX = 5000


def _back(default_queue: str = "pending") -> str:
    target = request.form.get("next", "")
    if target.startswith("/moderate/") and not target.startswith("//"):
        return target
    return url_for("console.queue", name=default_queue)


def _reply(ok: bool, message: str, code: int = 200, **data):
    if wants_json():
        return jsonify(ok=ok, message=message, **data), code
    flash(message, "info" if ok else "error")
    return redirect(_back())


def conflict_message(error: StaleVersion) -> str:
    """ "Already approved by X at 10:42", in the moderator's language."""
    params = error.params
    status = STATUS_LABELS.get(params.get("status"), params.get("status", ""))
    return _("Already %(status)s by %(actor)s at %(time)s.", status=status, actor=params.get("actor", "?"),
             time=hhmm(params.get("at")))


def _rejection_fields(action: str) -> tuple[str | None, str | None]:
    """Reason and note belong to a rejection: a reason left selected must not ride along with an approval."""
    if action != "reject":
        return None, None
    return request.form.get("reason") or None, (request.form.get("note") or "").strip()[:2000] or None


def _version() -> int | None:
    return request.form.get("version", type=int)


@bp.post("/comments/<int:comment_id>/decision")
@requires(DECIDING_ROLES)
def decide(comment_id: int):
    action = request.form.get("action", "")
    reason, note = _rejection_fields(action)
    try:
        comment = decide_comment(db.session, comment_id, DecisionRequest(action, reason, note, _version()),
                                 moderator=g.moderator, now=now())
    except StaleVersion as error:
        return _reply(False, conflict_message(error), 409)
    except InvalidTransition as error:
        return _reply(False, _("This comment is %(status)s: that action does not apply.",
                               status=STATUS_LABELS.get(error.params.get("current"), "")), 409)
    except InvalidReason:
        message = _("Choose a reason to reject.") if action == "reject" else _("Unknown action.")
        return _reply(False, message, 422)
    label = ACTION_LABELS.get(action, action)
    return _reply(True, _("Comment %(id)s %(action)s.", id=comment_id, action=label),
                  status=comment.status.value, version=comment.version)


@bp.post("/comments/<int:comment_id>/dismiss")
@requires(DECIDING_ROLES)
def dismiss(comment_id: int):
    dismiss_reports(db.session, comment_id, moderator=g.moderator, now=now())
    return _reply(True, _("Reports dismissed: the comment stays published."))


@bp.post("/comments/<int:comment_id>/claim")
@requires(DECIDING_ROLES)
def claim(comment_id: int):
    claimed = claim_comment(db.session, comment_id, moderator=g.moderator, now=now())
    message = "" if claimed else _("A colleague has this comment open.")
    return _reply(claimed, message, 200 if claimed else 409)


@bp.post("/comments/<int:comment_id>/reveal")
@requires(VIEWING_ROLES)
def reveal(comment_id: int):
    email = reveal_email(db.session, comment_id, by=g.moderator, now=now())
    if wants_json():
        return jsonify(ok=True, email=email)
    return render_template("console/comment.html", **card_context(comment_id, revealed_email=email))


@bp.post("/comments/<int:comment_id>/ban")
@requires(ADMIN_ROLES)  # core keeps every rule, bans included, to admins
def ban(comment_id: int):
    comment = get_comment_context(db.session, comment_id).comment
    add_rule(db.session, kind="ban", target="email", value=comment.author_email, site_id=comment.site_id,
             note=f"comment {comment_id}", by=g.moderator, now=now())
    return _reply(True, _("This author's e-mail is banned: their next comments go to spam."))


def _whole_queue_ids(name: str) -> list[int]:
    flt, _kept = read_filter(request.form)
    ids: list[int] = []
    cursor = None
    while len(ids) < BULK_MAX:
        page = list_queue(db.session, name, flt, cursor=cursor, limit=BULK_CHUNK, with_counts=False,
                          skip_claimed_by_others=g.moderator.id if name == "pending" else None, now=now())
        ids.extend(c.id for c in page.comments)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    return ids[:BULK_MAX]


@bp.post("/bulk")
@requires(DECIDING_ROLES)
def bulk():
    action = request.form.get("action", "")
    name = request.form.get("queue", "pending")
    if action not in ACTIONS:
        return _reply(False, _("Unknown action."), 422)
    if request.form.get("scope") == "all":
        ids = _whole_queue_ids(name)
    else:
        ids = [int(v) for v in request.form.getlist("ids") if v.isdigit()]
    if not ids:
        return _reply(False, _("Select at least one comment."), 422)
    decision = DecisionRequest(action, *_rejection_fields(action))
    done, skipped = 0, 0
    try:
        for start in range(0, len(ids), BULK_CHUNK):
            summary = decide_many(db.session, ids[start:start + BULK_CHUNK], decision, moderator=g.moderator,
                                  now=now())
            done, skipped = done + len(summary.done), skipped + len(summary.skipped)
    except InvalidReason:
        return _reply(False, _("Choose a reason to reject."), 422)
    message = " ".join([ngettext("%(num)s comment done,", "%(num)s comments done,", done),
                        ngettext("%(num)s skipped (already changed or not applicable).",
                                 "%(num)s skipped (already changed or not applicable).", skipped)])
    return _reply(True, message, done=done, skipped=skipped)
