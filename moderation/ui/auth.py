"""Console login and logout over server-side sessions, the current moderator, and role checks."""
from __future__ import annotations

import datetime as dt
import functools

from flask import abort, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from moderation.core import moderators as accounts
from moderation.core.administration import record_audit
from moderation.core.models import utcnow
from moderation.errors import Unauthenticated
from moderation.extensions import db
from moderation.ui import bp

VIEWING_ROLES = frozenset({"admin", "moderator", "viewer"})
DECIDING_ROLES = frozenset({"admin", "moderator"})
ADMIN_ROLES = frozenset({"admin"})
TOKEN_KEY = "console_token"


def now() -> dt.datetime:
    return utcnow()


def wants_json() -> bool:
    """The console's script sends this header; plain forms get pages and redirects instead."""
    return request.headers.get("X-Requested-With") == "fetch"


@bp.before_request
def load_moderator() -> None:
    # Looked up on every request, so logout, a password change or a disabled account take effect at once.
    g.moderator = accounts.moderator_for_session(db.session, session.get(TOKEN_KEY), now())
    if g.moderator is None and TOKEN_KEY in session:
        session.pop(TOKEN_KEY)


def requires(roles: frozenset[str]):
    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            moderator = g.get("moderator")
            if moderator is None:
                if wants_json():
                    return jsonify(ok=False, message=_("Your session has ended: please log in again.")), 401
                if request.method != "GET":
                    # The form's action is lost: say so, and come back to the page it was posted from.
                    flash(_("Your session has ended: please log in again."), "error")
                    return redirect(url_for("console.login", next=_safe_next(request.form.get("next"))))
                return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
            if moderator.role not in roles:
                # Refusals are audited (ASVS 16.3.2): a viewer probing admin pages should be visible.
                record_audit(db.session, by=moderator, action="access.denied", target=request.path[:200],
                             details={"method": request.method, "role": moderator.role}, now=now())
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


def _safe_next(target: str | None) -> str:
    # Only paths inside the console: never another host ("//evil" or "https://...").
    if target and target.startswith("/moderate") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("console.queue", name="pending")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if g.moderator is not None:
            return redirect(_safe_next(request.args.get("next")))
        return render_template("console/login.html", next=request.args.get("next", ""))
    email = request.form.get("email", "")[:254]
    password = request.form.get("password", "")[:1024]
    try:
        moderator, token = accounts.log_in(db.session, email, password, ip=request.remote_addr,
                                           user_agent=request.user_agent.string, now=now())
    except accounts.LoginThrottled:
        error, status = _("Too many failed attempts. Try again in 15 minutes."), 429
    except Unauthenticated:
        error, status = _("Wrong e-mail or password."), 401
    else:
        # A fresh session (and CSRF token) at every login: nothing carries over from before (ASVS 7.2.4).
        session.clear()
        session[TOKEN_KEY] = token
        return redirect(_safe_next(request.form.get("next")))
    return render_template("console/login.html", error=error, email=email,
                           next=request.form.get("next", "")), status


@bp.post("/logout")
def logout():
    token = session.get(TOKEN_KEY)
    if token:
        accounts.log_out(db.session, token, now())
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("console.login"))


@bp.route("/account", methods=["GET", "POST"])
@requires(VIEWING_ROLES)
def account():
    if request.method == "POST":
        new = request.form.get("new_password", "")
        if new != request.form.get("confirm_password"):
            flash(_("The two passwords differ."), "error")
        elif len(new) < accounts.MIN_PASSWORD_LENGTH:
            flash(_("The password needs at least %(n)s characters.", n=accounts.MIN_PASSWORD_LENGTH), "error")
        else:
            try:
                accounts.log_in(db.session, g.moderator.email, request.form.get("current_password", ""),
                                ip=request.remote_addr, user_agent=request.user_agent.string, now=now())
            except (Unauthenticated, accounts.LoginThrottled):
                flash(_("The current password is wrong."), "error")
            else:
                # Every session ends, this one included: the moderator logs in again with the new password.
                accounts.change_password(db.session, g.moderator.id, new, now())
                session.clear()
                flash(_("Password changed: please log in again."), "info")
                return redirect(url_for("console.login"))
    return render_template("console/account.html")
