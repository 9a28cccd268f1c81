"""Read side for the site: one comment, and the published thread of an article."""
from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from moderation.core.db import reading
from moderation.core.models import Comment, Site
from moderation.core.status import CommentStatus
from moderation.errors import FieldErrors, NotFound


# Ids are 32-bit integers in both databases; anything larger cannot exist.
MAX_ID = 2**31 - 1


def get_comment(session: Session, site: Site, comment_id: int) -> Comment:
    if not 1 <= comment_id <= MAX_ID:
        raise NotFound("no such comment", comment_id=comment_id)
    with reading(session):
        comment = session.get(Comment, comment_id)
        if comment is None or comment.site_id != site.id:
            raise NotFound("no such comment", comment_id=comment_id)
        session.expunge(comment)
        return comment


@dataclass
class ThreadPage:
    comments: list[dict]
    next_cursor: str | None
    total_published: int


def _encode_cursor(when: dt.datetime, comment_id: int) -> str:
    raw = json.dumps([when.isoformat(), comment_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        when, comment_id = json.loads(raw)
        return dt.datetime.fromisoformat(when), int(comment_id)
    except (ValueError, TypeError) as error:
        raise FieldErrors({"cursor": ["invalid"]}) from error


def _public(comment: Comment) -> dict:
    return {
        "id": comment.id,
        "parent_id": comment.parent_id,
        "author_name": comment.author_name,
        "author_url": comment.author_url,
        "content": comment.content,
        "language": comment.detected_language or comment.language,
        "published_at": comment.published_at or comment.created_at,
        "replies": [],
    }


def list_published_thread(
    session: Session, site: Site, article_id: str, cursor: str | None, limit: int
) -> ThreadPage:
    """Top-level published comments, oldest first, each with its published replies nested.

    Replies to a comment that is not published are left out, as WordPress does.
    """
    published = (Comment.site_id == site.id) & (Comment.article_id == article_id) & (
        Comment.status == CommentStatus.APPROVED
    )
    order = (Comment.created_at, Comment.id)
    with reading(session):
        top = sa.select(Comment).where(published, Comment.parent_id.is_(None))
        if cursor:
            when, last_id = _decode_cursor(cursor)
            top = top.where(sa.tuple_(*order) > sa.tuple_(sa.literal(when, Comment.created_at.type), last_id))
        roots = list(session.scalars(top.order_by(*order).limit(limit + 1)))
        has_more = len(roots) > limit
        roots = roots[:limit]
        replies = list(session.scalars(sa.select(Comment).where(published, Comment.parent_id.is_not(None)).order_by(*order)))
        total = session.scalar(sa.select(sa.func.count(Comment.id)).where(published)) or 0

    nodes = {c.id: _public(c) for c in roots}
    reply_nodes = {c.id: _public(c) for c in replies}
    everything = {**nodes, **reply_nodes}
    for reply in replies:
        parent = everything.get(reply.parent_id)
        if parent is not None:
            parent["replies"].append(reply_nodes[reply.id])
    next_cursor = _encode_cursor(roots[-1].created_at, roots[-1].id) if has_more and roots else None
    return ThreadPage([nodes[c.id] for c in roots], next_cursor, total)
