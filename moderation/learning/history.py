"""import_history(): a parsed WordPress history becomes comments, decisions and labels in one transaction."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from moderation.core.db import transaction
from moderation.core.models import Comment, Decision, Site
from moderation.core.status import CommentStatus
from moderation.core.submissions import content_hash
from moderation.learning.labels import compose_text, text_hash
from moderation.learning.models import Label, WordPressComment
from moderation.learning.wordpress import WpComment

IMPORT_ACTOR = "wordpress-import"
STATUS = {"1": CommentStatus.APPROVED, "0": CommentStatus.PENDING, "spam": CommentStatus.SPAM,
          "trash": CommentStatus.REJECTED, "post-trashed": CommentStatus.REJECTED}
# What WordPress's status teaches. Trash holds anything a moderator threw away, pending nothing yet.
LABELS = {"1": {"spam": 0, "abuse": 0}, "spam": {"spam": 1}}
# Column widths of comments (WordPress's own are wider for some).
WIDTHS = {"author_name": 245, "author_email": 100, "author_url": 200, "author_ip": 45, "author_user_agent": 255,
          "article_url": 200, "article_title": 500, "article_id": 200}


@dataclass(frozen=True)
class HistoryImported:
    created: int
    already_imported: int
    merged_duplicates: int
    labels: int
    replies: int
    orphan_replies: int


def _fit(values: dict) -> dict:
    return {k: (v[:WIDTHS[k]] if isinstance(v, str) and k in WIDTHS else v) for k, v in values.items()}


def _chunks(items: list, size: int = 500):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _existing_duplicates(session: Session, site: Site, wanted: list[WpComment]) -> dict[tuple, int]:
    """Comments already here with the same duplicate key (posted through the API, say)."""
    found: dict[tuple, int] = {}
    hashes = sorted({content_hash(c.content) for c in wanted})
    for chunk in _chunks(hashes):
        rows = session.execute(sa.select(Comment.id, Comment.article_id, Comment.author_email, Comment.content_hash)
                               .where(Comment.site_id == site.id, Comment.content_hash.in_(chunk)))
        for row in rows:
            found[(row.article_id, row.author_email, row.content_hash)] = row.id
    return found


def import_history(session: Session, site: Site, comments: list[WpComment], *, now: dt.datetime) -> HistoryImported:
    """Store every comment not imported before, with its status, history, parent and labels; all or nothing.

    No outbox events are written: the site already published (or threw away) these comments years ago,
    so telling its webhooks now would only repeat old news. Plain bulk INSERTs: a site's history can
    hold hundreds of thousands of comments, and the ORM's unit of work would triple the time.
    """
    with transaction(session):
        mapped: dict[int, int] = {}
        for chunk in _chunks(sorted({c.wp_id for c in comments} | {c.parent for c in comments if c.parent})):
            mapped.update((wp_id, comment_id) for wp_id, comment_id in session.execute(
                sa.select(WordPressComment.wp_comment_id, WordPressComment.comment_id)
                .where(WordPressComment.site_id == site.id, WordPressComment.wp_comment_id.in_(chunk))).all())
        unique = {c.wp_id: c for c in comments}
        already = sum(1 for wp_id in unique if wp_id in mapped)
        by_key: dict[tuple, int | WpComment] = dict(_existing_duplicates(
            session, site, [c for c in unique.values() if c.wp_id not in mapped]))
        fresh: list[tuple[WpComment, dict]] = []
        merges: list[tuple[int, int | WpComment]] = []
        for wp in unique.values():
            if wp.wp_id in mapped:
                continue
            values = _values(site, wp)
            key = (values["article_id"], values["author_email"], values["content_hash"])
            if key in by_key:  # WordPress's own duplicates, or a comment that reached us twice
                merges.append((wp.wp_id, by_key[key]))
                continue
            by_key[key] = wp
            fresh.append((wp, values))
        if fresh:
            session.connection().execute(Comment.__table__.insert(), [values for _wp, values in fresh])
        # The duplicate key is unique: it finds each new comment's id (one executemany, no RETURNING per row).
        created = _existing_duplicates(session, site, [wp for wp, _v in fresh])
        mapped.update({wp.wp_id: created[(v["article_id"], v["author_email"], v["content_hash"])] for wp, v in fresh})
        articles = {wp.wp_id: values["article_id"] for wp, values in fresh}
        for wp_id, target in merges:
            mapped[wp_id] = target if isinstance(target, int) else mapped[target.wp_id]
        links = [dict(site_id=site.id, wp_comment_id=wp_id, comment_id=mapped[wp_id], imported_at=now)
                 for wp_id in [wp.wp_id for wp, _v in fresh] + [wp_id for wp_id, _t in merges]]
        if links:
            session.connection().execute(WordPressComment.__table__.insert(), links)
        replies, orphans = _link_replies(session, fresh, mapped, articles)
        labels = _history(session, fresh, mapped)
    return HistoryImported(len(fresh), already, len(merges), labels, len(replies), orphans)


def _values(site: Site, wp: WpComment) -> dict:
    status = STATUS[wp.approved]
    return _fit(dict(
        site_id=site.id, article_id=wp.post_id, article_url=wp.post_url, article_title=wp.post_title,
        author_name=wp.author, author_email=wp.email, author_url=wp.url or None, author_ip=wp.ip,
        author_user_agent=wp.agent, content=wp.content, content_hash=content_hash(wp.content), status=status,
        version=1, reasons=[], risk=0.5, created_at=wp.date, updated_at=wp.date,
        published_at=wp.date if status is CommentStatus.APPROVED else None,
    ))


def _link_replies(session: Session, fresh: list[tuple[WpComment, dict]], mapped: dict[int, int],
                  articles: dict[int, str]) -> tuple[list[dict], int]:
    """Point replies at their parents: in this file, or in an earlier import of the same site."""
    earlier = sorted({mapped[wp.parent] for wp, _v in fresh
                      if wp.parent and wp.parent not in articles and wp.parent in mapped})
    earlier_articles: dict[int, str] = {}
    for chunk in _chunks(earlier):
        earlier_articles.update(session.execute(sa.select(Comment.id, Comment.article_id)
                                                .where(Comment.id.in_(chunk))).all())
    replies, orphans = [], 0
    for wp, values in fresh:
        if not wp.parent:
            continue
        parent_id = mapped.get(wp.parent)
        parent_article = articles.get(wp.parent) or earlier_articles.get(parent_id)
        if parent_id is not None and parent_article == values["article_id"] and parent_id != mapped[wp.wp_id]:
            replies.append({"comment_id": mapped[wp.wp_id], "parent": parent_id})
        else:
            orphans += 1  # the parent is not in this export (deleted, or another post)
    if replies:
        session.connection().execute(
            Comment.__table__.update().where(Comment.__table__.c.id == sa.bindparam("comment_id"))
            .values(parent_id=sa.bindparam("parent")), replies)
    return replies, orphans


def _history(session: Session, fresh: list[tuple[WpComment, dict]], mapped: dict[int, int]) -> int:
    """The decision WordPress's status stands for, and the labels it teaches; returns how many labels."""
    decisions, labels = [], []
    for wp, values in fresh:
        comment_id = mapped[wp.wp_id]
        decisions.append(dict(
            comment_id=comment_id, actor=IMPORT_ACTOR, action="import", from_status=None,
            to_status=values["status"].value, reason_code="spam" if wp.approved == "spam" else None,
            reasons=[{"code": "wordpress_import", "wp_comment_id": wp.wp_id, "wp_status": wp.approved}],
            created_at=wp.date))
        if not wp.content.strip():
            continue
        text = compose_text(values["content"], values["author_name"], values["author_url"] or "")
        labels += [dict(site_id=values["site_id"], comment_id=comment_id, head=head, value=value, source="wordpress",
                        text=text, text_hash=text_hash(text), language=None, created_at=wp.date)
                   for head, value in LABELS.get(wp.approved, {}).items()]
    if decisions:
        session.connection().execute(Decision.__table__.insert(), decisions)
    if labels:
        session.connection().execute(Label.__table__.insert(), labels)
    return len(labels)
