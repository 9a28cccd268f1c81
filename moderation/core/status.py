"""Comment statuses and the only transitions allowed between them."""
from __future__ import annotations

import enum

from moderation.errors import InvalidTransition


class CommentStatus(str, enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SPAM = "spam"


ALLOWED_TRANSITIONS: dict[CommentStatus, frozenset[CommentStatus]] = {
    CommentStatus.PENDING: frozenset({CommentStatus.APPROVED, CommentStatus.REJECTED, CommentStatus.SPAM}),
    # Unpublishing a published comment.
    CommentStatus.APPROVED: frozenset({CommentStatus.REJECTED}),
    # A moderator's restore.
    CommentStatus.REJECTED: frozenset({CommentStatus.APPROVED, CommentStatus.PENDING}),
    CommentStatus.SPAM: frozenset({CommentStatus.APPROVED, CommentStatus.PENDING}),
}


def transition(current: CommentStatus, target: CommentStatus) -> CommentStatus:
    """Return target if the move is allowed, else raise InvalidTransition."""
    if target not in ALLOWED_TRANSITIONS[current]:
        raise InvalidTransition(current.value, target.value)
    return target
