"""WordPress history import: a hand-made WXR file and wp_comments CSV, every status, replies, Arabic, errors."""
from __future__ import annotations

import sqlalchemy as sa
import pytest

from moderation.core.models import Comment, Decision
from moderation.core.status import CommentStatus
from moderation.learning.history import import_history
from moderation.learning.labels import MalformedFile
from moderation.learning.models import Label, WordPressComment
from moderation.learning.wordpress import parse_history
from tests.learning.conftest import NOW

# Hand-written for these tests (not real comments), shaped like WordPress 6 writes WXR 1.2.
WXR = """<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel>
  <title>Le Journal</title>
  <wp:wxr_version>1.2</wp:wxr_version>
  <item>
    <title>Budget 2025 : ce qui change</title>
    <link>https://journal.example/budget-2025</link>
    <wp:post_id>101</wp:post_id>
    <wp:comment>
      <wp:comment_id>1</wp:comment_id>
      <wp:comment_author><![CDATA[Amina]]></wp:comment_author>
      <wp:comment_author_email><![CDATA[amina@example.org]]></wp:comment_author_email>
      <wp:comment_author_url>https://amina.example</wp:comment_author_url>
      <wp:comment_author_IP><![CDATA[192.0.2.10]]></wp:comment_author_IP>
      <wp:comment_date><![CDATA[2024-01-05 11:00:00]]></wp:comment_date>
      <wp:comment_date_gmt><![CDATA[2024-01-05 10:00:00]]></wp:comment_date_gmt>
      <wp:comment_content><![CDATA[Merci pour cet article <b>très clair</b>.]]></wp:comment_content>
      <wp:comment_approved><![CDATA[1]]></wp:comment_approved>
      <wp:comment_type><![CDATA[comment]]></wp:comment_type>
      <wp:comment_parent>0</wp:comment_parent>
    </wp:comment>
    <wp:comment>
      <wp:comment_id>2</wp:comment_id>
      <wp:comment_author><![CDATA[كريم]]></wp:comment_author>
      <wp:comment_author_email>karim@example.org</wp:comment_author_email>
      <wp:comment_date_gmt>2024-01-05 12:00:00</wp:comment_date_gmt>
      <wp:comment_content><![CDATA[شكرا على المقال، موضوع مهم جدا]]></wp:comment_content>
      <wp:comment_approved>1</wp:comment_approved>
      <wp:comment_parent>1</wp:comment_parent>
    </wp:comment>
    <wp:comment>
      <wp:comment_id>3</wp:comment_id>
      <wp:comment_author>Cheap Watches</wp:comment_author>
      <wp:comment_author_email>promo@spam.example</wp:comment_author_email>
      <wp:comment_date_gmt>2024-01-06 09:00:00</wp:comment_date_gmt>
      <wp:comment_content>Buy cheap watches at www.deals.example</wp:comment_content>
      <wp:comment_approved>spam</wp:comment_approved>
      <wp:comment_parent>0</wp:comment_parent>
    </wp:comment>
  </item>
  <item>
    <title>Sécheresse</title>
    <link>https://journal.example/secheresse</link>
    <wp:post_id>102</wp:post_id>
    <wp:comment>
      <wp:comment_id>4</wp:comment_id>
      <wp:comment_author>Troll</wp:comment_author>
      <wp:comment_author_email>troll@example.org</wp:comment_author_email>
      <wp:comment_date_gmt>0000-00-00 00:00:00</wp:comment_date_gmt>
      <wp:comment_date>2024-02-01 08:30:00</wp:comment_date>
      <wp:comment_content>Ferme-la, abruti.</wp:comment_content>
      <wp:comment_approved>trash</wp:comment_approved>
      <wp:comment_parent>0</wp:comment_parent>
    </wp:comment>
    <wp:comment>
      <wp:comment_id>5</wp:comment_id>
      <wp:comment_author>Léa</wp:comment_author>
      <wp:comment_author_email>lea@example.org</wp:comment_author_email>
      <wp:comment_date_gmt>2024-02-02 08:30:00</wp:comment_date_gmt>
      <wp:comment_content>Et les nappes phréatiques ?</wp:comment_content>
      <wp:comment_approved>0</wp:comment_approved>
      <wp:comment_parent>4</wp:comment_parent>
    </wp:comment>
    <wp:comment>
      <wp:comment_id>6</wp:comment_id>
      <wp:comment_author>Other blog</wp:comment_author>
      <wp:comment_author_email></wp:comment_author_email>
      <wp:comment_date_gmt>2024-02-03 08:30:00</wp:comment_date_gmt>
      <wp:comment_content>[…] as seen on another blog […]</wp:comment_content>
      <wp:comment_approved>1</wp:comment_approved>
      <wp:comment_type>pingback</wp:comment_type>
      <wp:comment_parent>0</wp:comment_parent>
    </wp:comment>
    <wp:comment>
      <wp:comment_id>7</wp:comment_id>
      <wp:comment_author>Sami</wp:comment_author>
      <wp:comment_author_email>sami@example.org</wp:comment_author_email>
      <wp:comment_date_gmt>2024-02-04 08:30:00</wp:comment_date_gmt>
      <wp:comment_content>Article supprimé avec son post</wp:comment_content>
      <wp:comment_approved>post-trashed</wp:comment_approved>
      <wp:comment_parent>0</wp:comment_parent>
    </wp:comment>
  </item>
</channel>
</rss>
"""

CSV_HEADER = ("comment_ID,comment_post_ID,comment_author,comment_author_email,comment_author_url,comment_author_IP,"
              "comment_date,comment_date_gmt,comment_content,comment_karma,comment_approved,comment_agent,"
              "comment_type,comment_parent,user_id\n")
CSV = CSV_HEADER + (
    '11,201,Nadia,nadia@example.org,,198.51.100.7,2024-03-01 10:00:00,2024-03-01 09:00:00,"Bonne analyse, merci",0,1,Mozilla/5.0,comment,0,0\n'
    '12,201,يوسف,youssef@example.org,,,2024-03-01 11:00:00,2024-03-01 10:00:00,"رد على نادية: أوافقك الرأي",0,1,,comment,11,0\n'
    '13,201,Casino,win@casino.example,http://casino.example,,2024-03-02 11:00:00,2024-03-02 10:00:00,"Casino en ligne, bonus 200 % http://casino.example",0,spam,,comment,0,0\n'
    '14,201,Anon,anon@example.org,,,2024-03-03 11:00:00,2024-03-03 10:00:00,"Hors sujet total",0,trash,,comment,0,0\n'
    '15,202,Omar,omar@example.org,,,2024-03-04 11:00:00,2024-03-04 10:00:00,"En attente de modération",0,0,,,0,0\n'
    '16,201,Casino,win@casino.example,http://casino.example,,2024-03-05 11:00:00,2024-03-05 10:00:00,"Casino en ligne, bonus 200 % http://casino.example",0,spam,,comment,0,0\n'
)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def by_author(session):
    return {c.author_name: c for c in session.scalars(sa.select(Comment))}


def test_wxr_import_keeps_status_history_replies_and_labels(session, site, tmp_path):
    progress = []
    parsed = parse_history(write(tmp_path, "export.xml", WXR), progress.append)
    assert sum(progress) == len(WXR.encode("utf-8"))
    assert parsed.skipped_types == 1  # the pingback
    result = import_history(session, site, parsed.comments, now=NOW)
    assert (result.created, result.already_imported, result.replies, result.orphan_replies) == (6, 0, 2, 0)

    comments = by_author(session)
    statuses = {name: c.status for name, c in comments.items()}
    assert statuses == {"Amina": CommentStatus.APPROVED, "كريم": CommentStatus.APPROVED, "Cheap Watches": CommentStatus.SPAM,
                        "Troll": CommentStatus.REJECTED, "Léa": CommentStatus.PENDING, "Sami": CommentStatus.REJECTED}
    amina, karim = comments["Amina"], comments["كريم"]
    assert (amina.article_id, amina.article_url, amina.article_title) == (
        "101", "https://journal.example/budget-2025", "Budget 2025 : ce qui change")
    assert amina.author_ip == "192.0.2.10" and amina.author_url == "https://amina.example"
    assert amina.created_at.isoformat() == "2024-01-05T10:00:00+00:00" and amina.published_at == amina.created_at
    assert karim.parent_id == amina.id and karim.content == "شكرا على المقال، موضوع مهم جدا"
    assert comments["Léa"].parent_id == comments["Troll"].id
    assert comments["Troll"].created_at.isoformat() == "2024-02-01T08:30:00+00:00"  # no GMT date: local one
    decision = session.scalars(sa.select(Decision).where(Decision.comment_id == comments["Cheap Watches"].id)).one()
    assert (decision.actor, decision.action, decision.to_status, decision.reason_code) == (
        "wordpress-import", "import", "spam", "spam")

    labels = {(c.author_name, h): v for c, h, v in session.execute(
        sa.select(Comment, Label.head, Label.value).join(Label, Label.comment_id == Comment.id))}
    # Approved: negative for both heads; spam: a spam positive; trash and pending teach nothing.
    assert labels == {("Amina", "spam"): 0, ("Amina", "abuse"): 0, ("كريم", "spam"): 0, ("كريم", "abuse"): 0,
                      ("Cheap Watches", "spam"): 1}
    assert {lab.source for lab in session.scalars(sa.select(Label))} == {"wordpress"}


def test_reimporting_creates_nothing(session, site, tmp_path):
    path = write(tmp_path, "export.xml", WXR)
    import_history(session, site, parse_history(path).comments, now=NOW)
    counts = [session.scalar(sa.select(sa.func.count()).select_from(t)) for t in (Comment, Decision, Label, WordPressComment)]
    again = import_history(session, site, parse_history(path).comments, now=NOW)
    assert (again.created, again.already_imported, again.labels) == (0, 6, 0)
    assert [session.scalar(sa.select(sa.func.count()).select_from(t))
            for t in (Comment, Decision, Label, WordPressComment)] == counts


def test_csv_dump_import_with_replies_arabic_and_wordpress_duplicates(session, site, tmp_path):
    parsed = parse_history(write(tmp_path, "wp_comments.csv", CSV))
    result = import_history(session, site, parsed.comments, now=NOW)
    # The second casino comment is the same author, text and post: one comment, both WordPress ids mapped.
    assert (result.created, result.already_imported, result.replies) == (5, 0, 1)
    comments = by_author(session)
    assert comments["يوسف"].parent_id == comments["Nadia"].id
    assert comments["Nadia"].author_user_agent == "Mozilla/5.0"
    assert comments["Omar"].status is CommentStatus.PENDING and comments["Anon"].status is CommentStatus.REJECTED
    assert session.scalar(sa.select(sa.func.count(WordPressComment.id))) == 6
    again = import_history(session, site, parse_history(tmp_path / "wp_comments.csv").comments, now=NOW)
    assert (again.created, again.already_imported) == (0, 6)


def test_a_reply_to_a_comment_of_an_earlier_import_finds_its_parent(session, site, tmp_path):
    lines = CSV.splitlines(keepends=True)
    import_history(session, site, parse_history(write(tmp_path, "a.csv", "".join(lines[:2]))).comments, now=NOW)
    result = import_history(session, site, parse_history(write(tmp_path, "b.csv", lines[0] + lines[2])).comments, now=NOW)
    assert (result.created, result.replies) == (1, 1)
    comments = by_author(session)
    assert comments["يوسف"].parent_id == comments["Nadia"].id


MALFORMED = [
    ("bad-status.xml", WXR.replace("<wp:comment_approved>0</wp:comment_approved>",
                                   "<wp:comment_approved>maybe</wp:comment_approved>"),
     "line 57: <wp:comment> #5 (wp:comment_id 5): comment_approved 'maybe' is not one of 1, 0, spam, trash, post-trashed"),
    ("broken.xml", WXR.replace("</wp:comment_parent>\n    </wp:comment>\n  </item>", "</wp:comment_parent>\n  </item>", 1),
     "line 41, column 4: not well-formed XML (mismatched tag)"),
    ("cut.xml", WXR[:2000], "not well-formed XML (no element found)"),
    ("bad-date.xml", WXR.replace("2024-01-06 09:00:00", "yesterday"),
     "line 33: <wp:comment> #3 (wp:comment_id 3): comment_date_gmt 'yesterday' is not a date like 2024-03-01 12:30:00"),
    ("not-wxr.xml", "<?xml version='1.0'?><html><body/></html>",
     "line 1: not a WordPress export (root element <html>, expected <rss>)"),
    ("bad.csv", CSV.replace(",0,spam,,comment,0,0\n", ",0,spam,,comment,zero,0\n", 1),
     "line 4 (comment_ID 13): comment_parent 'zero' is not a whole number"),
    ("short.csv", CSV + "17,201,Short row\n", "line 8: 15 columns expected"),
    ("other.csv", "id,text\n1,hello\n", "line 1: not a wp_comments dump"),
]


@pytest.mark.parametrize(("name", "content", "message"), MALFORMED, ids=[case[0] for case in MALFORMED])
def test_a_malformed_file_names_the_line_and_imports_nothing(session, site, tmp_path, name, content, message):
    with pytest.raises(MalformedFile) as error:
        parse_history(write(tmp_path, name, content))
    assert message in str(error.value)
    assert session.scalar(sa.select(sa.func.count(Comment.id))) == 0


def test_entities_are_refused_never_expanded(session, tmp_path):
    bomb = ('<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n'
            '<rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><item><wp:post_id>1</wp:post_id>'
            '<wp:comment><wp:comment_content>&b;</wp:comment_content></wp:comment></item></channel></rss>')
    external = ('<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
                '<rss><channel>&x;</channel></rss>')
    for name, content in (("bomb.xml", bomb), ("external.xml", external)):
        with pytest.raises(MalformedFile) as error:
            parse_history(write(tmp_path, name, content))
        assert "line 2: the file declares XML entities" in str(error.value)
