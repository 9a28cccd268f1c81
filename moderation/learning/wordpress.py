"""Reading a WordPress comment history: the WXR export and a CSV dump of wp_comments, parsed in full first."""
from __future__ import annotations

import csv
import datetime as dt
import io
import xml.sax
from dataclasses import dataclass
from typing import Callable

import defusedxml
import defusedxml.sax

from moderation.learning.labels import MalformedFile

WP_NAMESPACE_PREFIX = "http://wordpress.org/export/"
# WordPress's comment_approved values; "post-trashed" marks comments of a trashed post.
STATUSES = ("1", "0", "spam", "trash", "post-trashed")
# Not comments: notifications from other blogs, which a moderator never judged as text.
SKIPPED_TYPES = frozenset({"pingback", "trackback"})
NO_DATE = "0000-00-00 00:00:00"

Progress = Callable[[int], None]


@dataclass(frozen=True)
class WpComment:
    wp_id: int
    post_id: str
    post_url: str | None
    post_title: str | None
    author: str
    email: str
    url: str
    ip: str | None
    agent: str | None
    date: dt.datetime
    content: str
    approved: str
    parent: int
    type: str
    where: str


@dataclass(frozen=True)
class ParsedHistory:
    comments: list[WpComment]
    skipped_types: int


def _date(fields: dict, where: str) -> dt.datetime:
    raw = (fields.get("comment_date_gmt") or "").strip()
    if not raw or raw == NO_DATE:
        # Drafts and some old imports have no GMT date; the local date is then the best there is.
        raw = (fields.get("comment_date") or "").strip()
    try:
        return dt.datetime.strptime(raw, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise MalformedFile(f"{where}: comment_date_gmt {raw!r} is not a date like 2024-03-01 12:30:00") from None


def _int(value: str | None, name: str, where: str, default: int | None = None) -> int:
    value = (value or "").strip()
    if not value and default is not None:
        return default
    if not value.isdigit():
        raise MalformedFile(f"{where}: {name} {value!r} is not a whole number")
    return int(value)


def build_comment(fields: dict, post: dict, where: str) -> WpComment:
    """One validated comment from its WordPress fields (names as in the wp_comments table)."""
    approved = (fields.get("comment_approved") or "").strip()
    if approved not in STATUSES:
        raise MalformedFile(f"{where}: comment_approved {approved!r} is not one of {', '.join(STATUSES)}")
    return WpComment(
        wp_id=_int(fields.get("comment_ID") or fields.get("comment_id"), "comment_id", where),
        post_id=str(_int(post.get("post_id"), "post id", where)),
        post_url=post.get("link") or None, post_title=post.get("title") or None,
        author=(fields.get("comment_author") or "").strip(),
        email=(fields.get("comment_author_email") or "").strip(),
        url=(fields.get("comment_author_url") or "").strip(),
        ip=(fields.get("comment_author_IP") or "").strip() or None,
        agent=(fields.get("comment_agent") or "").strip() or None,
        date=_date(fields, where), content=fields.get("comment_content") or "", approved=approved,
        parent=_int(fields.get("comment_parent"), "comment_parent", where, default=0),
        type=(fields.get("comment_type") or "").strip() or "comment", where=where,
    )


class _CountingReader:
    """A byte stream that reports how much has been read (the progress bar of a large file)."""

    def __init__(self, raw, progress: Progress | None):
        self.raw, self.progress = raw, progress

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        if self.progress and data:
            self.progress(len(data))
        return data

    def close(self) -> None:
        pass  # the caller's `with` closes the file


class _WxrHandler(xml.sax.handler.ContentHandler):
    """Collects channel/item/wp:comment; element names are matched by namespace and local name."""

    def __init__(self):
        super().__init__()
        self.comments: list[WpComment] = []
        self.skipped = 0
        self.post: dict | None = None
        self.fields: dict | None = None
        self.text: list[str] | None = None
        self.comment_line = 0
        self.count = 0
        self.depth = 0
        self.locator = None

    def setDocumentLocator(self, locator):
        self.locator = locator

    def _line(self) -> int:
        return self.locator.getLineNumber() if self.locator else 0

    def startElementNS(self, name, qname, attrs):
        uri, local = name
        self.depth += 1
        wp = bool(uri) and uri.startswith(WP_NAMESPACE_PREFIX)
        if self.depth == 1 and local != "rss":
            raise MalformedFile(f"line {self._line()}: not a WordPress export (root element <{local}>, expected <rss>)")
        if local == "item" and not uri:
            self.post = {}
        elif wp and local == "comment" and self.post is not None:
            self.fields, self.comment_line = {}, self._line()
            self.count += 1
        self.text = []

    def characters(self, content):
        if self.text is not None:
            self.text.append(content)

    def endElementNS(self, name, qname):
        uri, local = name
        self.depth -= 1
        value = "".join(self.text or [])
        self.text = []
        wp = bool(uri) and uri.startswith(WP_NAMESPACE_PREFIX)
        if self.fields is not None:
            if wp and local == "comment":
                self._finish_comment()
            elif wp:
                self.fields[local] = value
        elif self.post is not None:
            if local == "item" and not uri:
                self.post = None
            elif wp and local == "post_id":
                self.post["post_id"] = value.strip()
            elif not uri and local in ("link", "title"):
                self.post[local] = value.strip()

    def _finish_comment(self):
        fields, self.fields = self.fields, None
        where = f"line {self.comment_line}: <wp:comment> #{self.count}"
        if fields.get("comment_id"):
            where += f" (wp:comment_id {fields['comment_id'].strip()})"
        comment = build_comment(fields, self.post, where)
        if comment.type in SKIPPED_TYPES:
            self.skipped += 1
        else:
            self.comments.append(comment)


def parse_wxr(stream, progress: Progress | None = None) -> ParsedHistory:
    """Parse a WXR file (binary stream). Entities and external references are refused, never resolved."""
    handler = _WxrHandler()
    parser = defusedxml.sax.make_parser()
    parser.setFeature(xml.sax.handler.feature_namespaces, True)
    parser.setFeature(xml.sax.handler.feature_external_ges, False)
    parser.setContentHandler(handler)
    try:
        parser.parse(_CountingReader(stream, progress))
    except xml.sax.SAXParseException as error:
        raise MalformedFile(f"line {error.getLineNumber()}, column {error.getColumnNumber()}: "
                            f"not well-formed XML ({error.getMessage()})") from None
    except defusedxml.DefusedXmlException as error:
        line = handler.locator.getLineNumber() if handler.locator else "?"
        raise MalformedFile(f"line {line}: the file declares XML entities or external references, "
                            f"which are refused ({type(error).__name__})") from None
    if handler.depth != 0 or handler.locator is None:
        raise MalformedFile("the file ended before the end of the export")
    return ParsedHistory(handler.comments, handler.skipped)


CSV_REQUIRED = ("comment_ID", "comment_post_ID", "comment_content", "comment_approved")


def parse_wp_csv(stream, progress: Progress | None = None) -> ParsedHistory:
    """Parse a CSV dump of the wp_comments table (text stream with a header row)."""
    lines = _counting_lines(stream, progress)
    reader = csv.DictReader(lines)
    header = reader.fieldnames or []
    missing = [c for c in CSV_REQUIRED if c not in header]
    if missing or not ({"comment_date_gmt", "comment_date"} & set(header)):
        raise MalformedFile("line 1: not a wp_comments dump; the header needs "
                            + ", ".join(CSV_REQUIRED) + " and comment_date_gmt")
    comments, skipped = [], 0
    try:
        for fields in reader:
            where = f"line {reader.line_num}"
            if None in fields or any(v is None for v in fields.values()):
                raise MalformedFile(f"{where}: {len(header)} columns expected")
            where += f" (comment_ID {fields['comment_ID'].strip()})"
            comment = build_comment(fields, {"post_id": fields.get("comment_post_ID")}, where)
            if comment.type in SKIPPED_TYPES:
                skipped += 1
            else:
                comments.append(comment)
    except csv.Error as error:
        raise MalformedFile(f"line {reader.line_num}: {error}") from None
    return ParsedHistory(comments, skipped)


def _counting_lines(stream, progress: Progress | None):
    for line in stream:
        if progress:
            progress(len(line.encode("utf-8", "surrogatepass")))
        yield line


def parse_history(path, progress: Progress | None = None) -> ParsedHistory:
    """A WXR (XML) or CSV file, told apart by its first character."""
    with open(path, "rb") as raw:
        head = raw.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
        raw.seek(0)
        if head.startswith(b"<"):
            return parse_wxr(raw, progress)
        try:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            return parse_wp_csv(text, progress)
        except UnicodeDecodeError as error:
            raise MalformedFile(f"the file is not UTF-8 text ({error.reason} at byte {error.start})") from None
