"""Admin pages: rules, moderators, personal API tokens and the sites' moderation settings."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from moderation.core import administration, moderators as accounts
from moderation.core.rules import LIST_KINDS, TARGETS, TERM_KINDS, add_rule, list_rules, remove_rule
from moderation.core.sites import list_sites
from moderation.errors import FieldErrors, InvalidReason, ModerationError
from moderation.extensions import db
from moderation.ui import bp
from moderation.ui.auth import ADMIN_ROLES, now, requires


def _failed(error: ModerationError) -> None:
    if isinstance(error, FieldErrors):
        flash(_("Invalid value for: %(fields)s.", fields=", ".join(error.errors)), "error")
    elif isinstance(error, InvalidReason) and "targets" in error.params:
        flash(_("Ban and allow rules need a target (e-mail, domain, IP or network)."), "error")
    else:
        flash(_("Not done: %(detail)s", detail=error.detail or error.code), "error")


@bp.get("/admin/rules")
@requires(ADMIN_ROLES)
def rules():
    sites = list_sites(db.session)
    return render_template("console/admin/rules.html", rules=list_rules(db.session), sites=sites,
                           site_names={s.id: s.name for s in sites}, kinds=TERM_KINDS + LIST_KINDS, targets=TARGETS)


@bp.post("/admin/rules")
@requires(ADMIN_ROLES)
def rule_add():
    form = request.form
    try:
        add_rule(db.session, kind=form.get("kind", ""), value=form.get("value", ""), target=form.get("target") or None,
                 site_id=form.get("site_id", type=int), note=(form.get("note") or "").strip()[:500] or None,
                 by=g.moderator, now=now())
    except ModerationError as error:
        _failed(error)
    else:
        flash(_("Rule added."), "info")
    return redirect(url_for("console.rules"))


@bp.post("/admin/rules/<int:rule_id>/delete")
@requires(ADMIN_ROLES)
def rule_remove(rule_id: int):
    remove_rule(db.session, rule_id, by=g.moderator, now=now())
    flash(_("Rule removed."), "info")
    return redirect(url_for("console.rules"))


@bp.get("/admin/moderators")
@requires(ADMIN_ROLES)
def moderators():
    return render_template("console/admin/moderators.html", moderators=administration.list_moderators(db.session),
                           roles=accounts.ROLES)


@bp.post("/admin/moderators")
@requires(ADMIN_ROLES)
def moderator_create():
    form = request.form
    password = form.get("password", "")
    if len(password) < accounts.MIN_PASSWORD_LENGTH:
        flash(_("The password needs at least %(n)s characters.", n=accounts.MIN_PASSWORD_LENGTH), "error")
        return redirect(url_for("console.moderators"))
    try:
        created = accounts.create_moderator(db.session, form.get("email", ""), password, role=form.get("role", ""),
                                            name=(form.get("name") or "").strip() or None,
                                            language=form.get("language") if form.get("language") in ("fr", "en") else "fr")
        administration.record_audit(db.session, by=g.moderator, action="moderator.created", target=created.email,
                                    details={"role": created.role}, now=now())
    except ModerationError as error:
        _failed(error)
    else:
        flash(_("Account %(email)s created.", email=created.email), "info")
    return redirect(url_for("console.moderators"))


@bp.post("/admin/moderators/<int:moderator_id>/active")
@requires(ADMIN_ROLES)
def moderator_active(moderator_id: int):
    active = request.form.get("active") == "1"
    if moderator_id == g.moderator.id and not active:
        flash(_("You cannot disable your own account."), "error")
    else:
        accounts.set_active(db.session, moderator_id, active, by=g.moderator, now=now())
        flash(_("Account enabled.") if active else _("Account disabled: its sessions and tokens are revoked."), "info")
    return redirect(url_for("console.moderators"))


@bp.post("/admin/moderators/<int:moderator_id>/role")
@requires(ADMIN_ROLES)
def moderator_role(moderator_id: int):
    try:
        administration.set_role(db.session, moderator_id, request.form.get("role", ""), by=g.moderator, now=now())
    except ModerationError as error:
        _failed(error)
    else:
        flash(_("Role changed."), "info")
    return redirect(url_for("console.moderators"))


@bp.get("/admin/tokens")
@requires(ADMIN_ROLES)
def tokens():
    return render_template("console/admin/tokens.html", tokens=administration.list_tokens(db.session),
                           moderators=administration.list_moderators(db.session))


@bp.post("/admin/tokens")
@requires(ADMIN_ROLES)
def token_create():
    email = request.form.get("email", "")
    try:
        token = accounts.create_token(db.session, email, now())
        administration.record_audit(db.session, by=g.moderator, action="token.created", target=email,
                                    details={"prefix": token[:10]}, now=now())
    except ModerationError as error:
        _failed(error)
        return redirect(url_for("console.tokens"))
    # Shown in this response only: it is stored hashed and cannot be shown again.
    return render_template("console/admin/tokens.html", tokens=administration.list_tokens(db.session),
                           moderators=administration.list_moderators(db.session), new_token=token, new_for=email)


@bp.post("/admin/tokens/<int:token_id>/revoke")
@requires(ADMIN_ROLES)
def token_revoke(token_id: int):
    administration.revoke_token(db.session, token_id, by=g.moderator, now=now())
    flash(_("Token revoked."), "info")
    return redirect(url_for("console.tokens"))


@bp.get("/admin/sites")
@requires(ADMIN_ROLES)
def sites():
    return render_template("console/admin/sites.html", sites=list_sites(db.session),
                           audit=administration.list_audit(db.session, 30))


def _int(name: str) -> int | str | None:
    raw = request.form.get(name, "").strip()
    if not raw:
        return None
    return int(raw) if raw.isdigit() else raw


@bp.post("/admin/sites/<int:site_id>")
@requires(ADMIN_ROLES)
def site_settings(site_id: int):
    values = {"link_limit": _int("link_limit"), "report_threshold": _int("report_threshold"),
              "allow_list_auto_approve": request.form.get("allow_list_auto_approve") == "1",
              "trusted_author_after": _int("trusted_author_after")}
    try:
        administration.update_site_settings(db.session, site_id, values, by=g.moderator, now=now())
    except ModerationError as error:
        _failed(error)
    else:
        flash(_("Settings saved."), "info")
    return redirect(url_for("console.sites"))
