"""Console fixtures: accounts of each role, comments inserted through the models, a logged-in client."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from moderation.core.models import Comment, Site
from moderation.core.moderators import create_moderator
from moderation.core.sites import create_site
from moderation.extensions import db

PASSWORD = "correct horse battery staple"
ACCOUNTS = {"admin": "admin@journal.fr", "moderator": "nadia@journal.fr", "viewer": "victor@journal.fr"}
NAMES = {"admin": "Alice Admin", "moderator": "Nadia", "viewer": "Victor"}
_CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_token(response) -> str:
    return _CSRF_RE.search(response.get_data(as_text=True)).group(1)


@pytest.fixture
def site(app) -> Site:
    with app.app_context():
        return create_site(db.session, "Le Journal")[0]


@pytest.fixture
def accounts(app):
    with app.app_context():
        for role, email in ACCOUNTS.items():
            create_moderator(db.session, email, PASSWORD, role=role, name=NAMES[role])
    return ACCOUNTS


def log_in(client, email: str, password: str = PASSWORD):
    page = client.get("/moderate/login")
    return client.post("/moderate/login", data={"email": email, "password": password,
                                                "csrf_token": csrf_token(page)})


class Console:
    """A test client logged in as one role, with the page's CSRF token at hand."""

    def __init__(self, client, email: str):
        self.client = client
        response = log_in(client, email)
        assert response.status_code == 302, response.get_data(as_text=True)
        self.token = csrf_token(client.get("/moderate/account"))

    def get(self, url, **kwargs):
        return self.client.get(url, **kwargs)

    def post(self, url, data=None, fetch=False, **kwargs):
        data = {"csrf_token": self.token, **(data or {})}
        headers = {"X-Requested-With": "fetch"} if fetch else {}
        return self.client.post(url, data=data, headers=headers, **kwargs)


@pytest.fixture
def console_as(app, accounts):
    def make(role: str) -> Console:
        return Console(app.test_client(), accounts[role])
    return make


NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


@pytest.fixture
def add_comment(app, site):
    counter = iter(range(1, 100_000))

    def add(**fields) -> int:
        n = next(counter)
        values = dict(site_id=site.id, article_id="budget-2027", article_title="Le budget 2027 adopté",
                      article_url="https://journal.example/budget", author_name="Amina",
                      author_email=f"amina{n}@example.org", author_ip="203.0.113.7", content=f"Commentaire {n}",
                      content_hash=f"h{n}", created_at=NOW - dt.timedelta(minutes=n), updated_at=NOW,
                      spam_score=0.1, abuse_score=0.1, risk=0.1, detected_language="fr")
        values.update(fields)
        with app.app_context():
            comment = Comment(**values)
            db.session.add(comment)
            db.session.commit()
            return comment.id

    return add


# --- Browser tests: the app served by waitress on loopback, driven by Debian's chromium -------------------

CHROMIUM = "/usr/bin/chromium"  # CI installs it with apt-get (.ci/run); Playwright's own download is not used
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def live_app(app):
    # The production cookie (__Host-, Secure): Chromium treats http://127.0.0.1 as a trustworthy origin.
    return app


@pytest.fixture
def live_server(live_app):
    """The console on a free loopback port, served by waitress from a background thread."""
    import threading

    import waitress

    server = waitress.create_server(live_app, host="127.0.0.1", port=0, threads=4, ident="moderation-test")
    closing = threading.Event()

    def serve() -> None:
        try:
            server.run()
        except OSError:
            # close() below shuts the sockets under the server's select(): EBADF then is the
            # end of the test, not an error of the app (it failed a PostgreSQL run once).
            if not closing.is_set():
                raise

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    closing.set()
    server.close()
    thread.join(timeout=5)


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server, viewport={"width": 1360, "height": 900}, locale="fr-FR")
    tab = context.new_page()
    tab.dialogs = []
    # Any alert/confirm/prompt would mean injected script ran: record and dismiss it.
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    yield tab
    context.close()


def browser_log_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/moderate/login")
    page.fill('input[name="email"]', email)
    page.fill('input[name="password"]', password)
    page.click('button[type="submit"].primary')
    page.wait_for_url("**/moderate/queue/pending")
