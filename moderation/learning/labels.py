"""Site labels: derived from moderators' decisions, and imported from a CSV of labels kept elsewhere."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from moderation.core.db import reading, transaction
from moderation.core.models import Comment, Decision
from moderation.core.reasons import ABUSE_REASONS
from moderation.errors import ModerationError
from moderation.learning.models import HEADS, Label


class MalformedFile(ModerationError):
    """An import file that cannot be read: nothing of it was imported."""

    code = "malformed-file"


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def labels_for(action: str, reason_code: str | None) -> dict[str, int]:
    """What one decision says, per head: {} when it says nothing about spam or abuse.

    Approving (or un-spamming, which publishes) says the comment is neither spam nor abuse.
    A rejection teaches only through its reason: spam, or one of the abuse reasons; off-topic,
    personal data, duplicate and other are editorial choices, not judgements of the text.
    """
    if action in ("approve", "not_spam", "dismiss_reports"):
        return {"spam": 0, "abuse": 0}
    if action == "spam" or (action == "reject" and reason_code == "spam"):
        return {"spam": 1}
    if action == "reject" and reason_code in ABUSE_REASONS:
        return {"abuse": 1}
    return {}


def compose_text(content: str, author_name: str, author_url: str) -> str:
    """The text the classifier reads for a comment (the same composition as at intake)."""
    # Imported here: core calls this module inside a decision, and core must not pull in scikit-learn.
    from moderation.classifier.features import compose

    return compose(content, author_name or "", author_url or "")


def model_text(comment: Comment) -> str:
    return compose_text(comment.content, comment.author_name, comment.author_url)


def record_labels_for_decisions(session: Session, comments: list[Comment], action: str, reason_code: str | None,
                                decided_at: dt.datetime) -> int:
    """Replace the labels of comments that just received the same decision; the caller holds the transaction.

    Only decisions on scored comments teach (as the issue defines a label). A decision that says
    nothing (a restore, an off-topic rejection) still removes the earlier label: the moderator has
    taken back what it recorded. Returns the number of labels written.
    """
    scored = [c for c in comments if c.model_version is not None]
    if action == "received" or not scored:
        return 0
    session.execute(sa.delete(Label).where(Label.comment_id.in_([c.id for c in scored]))
                    .execution_options(synchronize_session=False))
    says = labels_for(action, reason_code)
    rows = []
    for comment in scored:
        text = model_text(comment)
        rows += [dict(site_id=comment.site_id, comment_id=comment.id, head=head, value=value, source="decision",
                      text=text, text_hash=text_hash(text), language=comment.detected_language or comment.language,
                      created_at=decided_at) for head, value in says.items()]
    if rows:
        session.execute(sa.insert(Label), rows)
    return len(rows)


def record_labels_for_decision(session: Session, comment: Comment, decision: Decision) -> int:
    """The same for one Decision object (dismiss_reports, or any caller holding the ORM row)."""
    return record_labels_for_decisions(session, [comment], decision.action, decision.reason_code, decision.created_at)


@dataclass(frozen=True)
class LabelRow:
    text: str
    value: int
    head: str
    language: str | None


def parse_labels_csv(stream: io.TextIOBase) -> list[LabelRow]:
    """Read `text,label,head[,lang]`; raise MalformedFile naming the first bad line."""
    reader = csv.DictReader(stream)
    missing = {"text", "label", "head"} - set(reader.fieldnames or ())
    if missing:
        raise MalformedFile(f"line 1: the header needs the columns text,label,head (missing: {', '.join(sorted(missing))})")
    rows: list[LabelRow] = []
    try:
        for record in reader:
            where = f"line {reader.line_num}"
            text = (record.get("text") or "").strip()
            head = (record.get("head") or "").strip().lower()
            value = (record.get("label") or "").strip()
            if not text:
                raise MalformedFile(f"{where}: empty text")
            if head not in HEADS:
                raise MalformedFile(f"{where}: head must be spam or abuse, not {head!r}")
            if value not in ("0", "1"):
                raise MalformedFile(f"{where}: label must be 0 or 1, not {value!r}")
            rows.append(LabelRow(text, int(value), head, (record.get("lang") or "").strip() or None))
    except csv.Error as error:
        raise MalformedFile(f"line {reader.line_num}: {error}") from error
    return rows


@dataclass(frozen=True)
class LabelsImported:
    created: int
    already_present: int


def import_labels(session: Session, rows: list[LabelRow], *, now: dt.datetime,
                  site_id: int | None = None) -> LabelsImported:
    """Store parsed label rows in one transaction; a row already imported (same head and text) is skipped."""
    created = skipped = 0
    with transaction(session):
        hashes = {text_hash(r.text) for r in rows}
        existing = set()
        for chunk in _chunks(sorted(hashes), 500):
            existing |= set(session.execute(
                sa.select(Label.head, Label.text_hash).where(Label.source == "import", Label.text_hash.in_(chunk))).all())
        for row in rows:
            key = (row.head, text_hash(row.text))
            if key in existing:
                skipped += 1
                continue
            existing.add(key)
            # Imported labels are dated as of the import: their real age is unknown.
            session.add(Label(site_id=site_id, head=row.head, value=row.value, source="import", text=row.text,
                              text_hash=key[1], language=row.language, created_at=now))
            created += 1
    return LabelsImported(created, skipped)


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


@dataclass(frozen=True)
class LabelSet:
    """Labels of one head in time order, as the trainer and the evaluation read them."""

    texts: list[str]
    values: list[int]
    languages: list[str]
    created: list[dt.datetime]
    sources: list[str]

    def __len__(self) -> int:
        return len(self.texts)


def load_labels(session: Session, head: str) -> LabelSet:
    with reading(session):
        rows = session.execute(
            sa.select(Label.text, Label.value, Label.language, Label.created_at, Label.source)
            .where(Label.head == head).order_by(Label.created_at, Label.id)).all()
    return LabelSet([r.text for r in rows], [int(r.value) for r in rows], [r.language or "unknown" for r in rows],
                    [r.created_at for r in rows], [r.source for r in rows])


def count_labels(session: Session) -> int:
    with reading(session):
        return int(session.scalar(sa.select(sa.func.count(Label.id))) or 0)
