"""Labels from decisions (each kind, replaced by later ones) and the CSV import of labels kept elsewhere."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from moderation.core.review import DecisionRequest, decide_comment, decide_many
from moderation.learning.labels import MalformedFile, import_labels, load_labels, parse_labels_csv
from moderation.learning.models import Label
from tests.learning.conftest import NOW, labels_of


def decide(session, comment, moderator, action, reason=None):
    return decide_comment(session, comment.id, DecisionRequest(action, reason=reason), moderator=moderator, now=NOW)


@pytest.mark.parametrize(("action", "reason", "expected"), [
    ("approve", None, {"spam": 0, "abuse": 0}),
    ("spam", None, {"spam": 1}),
    ("reject", "spam", {"spam": 1}),
    ("reject", "insult", {"abuse": 1}),
    ("reject", "hate", {"abuse": 1}),
    ("reject", "threat", {"abuse": 1}),
    ("reject", "off_topic", {}),
    ("reject", "personal_data", {}),
    ("reject", "duplicate", {}),
    ("reject", "other", {}),
])
def test_each_decision_kind_gives_its_labels(session, add_comment, moderator, action, reason, expected):
    comment = add_comment(content="Achetez des montres pas chères", author_name="Promo", author_url="http://x.fr")
    decide(session, comment, moderator, action, reason)
    assert labels_of(session, comment.id) == expected
    for label in session.scalars(sa.select(Label).where(Label.comment_id == comment.id)):
        assert label.source == "decision" and label.created_at == NOW and label.language == "fr"
        assert label.text == "Achetez des montres pas chères\nPromo\nhttp://x.fr"  # what the model reads


def test_not_spam_is_a_negative_and_a_later_decision_replaces_the_label(session, add_comment, moderator):
    comment = add_comment()
    decide(session, comment, moderator, "spam")
    assert labels_of(session, comment.id) == {"spam": 1}
    decide(session, comment, moderator, "not_spam")
    assert labels_of(session, comment.id) == {"spam": 0, "abuse": 0}
    decide(session, comment, moderator, "reject", "hate")
    assert labels_of(session, comment.id) == {"abuse": 1}
    decide(session, comment, moderator, "restore")  # taken back: no label until decided again
    assert labels_of(session, comment.id) == {}
    assert session.scalar(sa.select(sa.func.count(Label.id))) == 0


def test_unscored_comments_give_no_label_and_bulk_decisions_label_each(session, add_comment, moderator):
    unscored = add_comment(spam_score=None, abuse_score=None, model_version=None)
    scored = [add_comment(), add_comment()]
    decide_many(session, [unscored.id] + [c.id for c in scored], DecisionRequest("spam"), moderator=moderator, now=NOW)
    assert labels_of(session, unscored.id) == {}
    assert [labels_of(session, c.id) for c in scored] == [{"spam": 1}, {"spam": 1}]


def test_a_refused_decision_leaves_the_labels_alone(session, add_comment, moderator):
    from moderation.errors import InvalidTransition

    comment = add_comment()
    decide(session, comment, moderator, "approve")
    with pytest.raises(InvalidTransition):
        decide(session, comment, moderator, "spam")
    assert labels_of(session, comment.id) == {"spam": 0, "abuse": 0}


CSV = """text,label,head,lang
"Gagnez 500 € par jour, cliquez ici",1,spam,fr
Merci pour cet article,0,spam,fr
"يا حمار يا غبي",1,abuse,ar
Très bon reportage,0,abuse,
"""


def test_labels_csv_import_is_idempotent(session):
    rows = parse_labels_csv(io.StringIO(CSV))
    assert [(r.head, r.value, r.language) for r in rows] == [
        ("spam", 1, "fr"), ("spam", 0, "fr"), ("abuse", 1, "ar"), ("abuse", 0, None)]
    first = import_labels(session, rows, now=NOW)
    again = import_labels(session, rows, now=NOW)
    assert (first.created, first.already_present) == (4, 0)
    assert (again.created, again.already_present) == (0, 4)
    spam = load_labels(session, "spam")
    assert spam.values == [1, 0] and spam.texts[0].startswith("Gagnez")
    assert load_labels(session, "abuse").languages == ["ar", "unknown"]


@pytest.mark.parametrize(("content", "message"), [
    ("text,label\nx,1\n", "line 1: the header needs the columns text,label,head (missing: head)"),
    ("text,label,head\nok,1,spam\nbad,2,spam\n", "line 3: label must be 0 or 1, not '2'"),
    ("text,label,head\nok,1,spam\nbad,1,toxic\n", "line 3: head must be spam or abuse, not 'toxic'"),
    ("text,label,head\n,1,spam\n", "line 2: empty text"),
])
def test_a_malformed_labels_file_names_the_line(session, content, message):
    with pytest.raises(MalformedFile) as error:
        parse_labels_csv(io.StringIO(content))
    assert str(error.value) == message
