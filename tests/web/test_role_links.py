"""No page shows a person a link, a button or a form that their role would
refuse: signed in as a viewer, an editor and an admin, every link and form on
each main page is checked against the roles table of test_roles.py."""
from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from socialpub.models import utcnow
from socialpub.people.roles import allows

from tests.web.test_media import photo, upload
from tests.web.test_roles import ROLE_NEEDED, A, E, V


class Targets(HTMLParser):
    """``(method, path)`` of every link and every form's submission on a page."""

    def __init__(self):
        super().__init__()
        self.found: set[tuple[str, str]] = set()
        self.form_method = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.found.add(("GET", a["href"]))
        elif tag == "form":
            self.form_method = (a.get("method") or "get").upper()
            self.found.add((self.form_method, a.get("action") or ""))
        elif tag in ("button", "input") and a.get("formaction"):
            self.found.add(((a.get("formmethod") or self.form_method or "get").upper(), a["formaction"]))


def targets(html: str) -> set[tuple[str, str]]:
    parser = Targets()
    parser.feed(html)
    return parser.found


def endpoint_of(app, method, href, page):
    """The endpoint a link or form leads to, or None when it leaves the app's routes."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or href.startswith("#"):
        return None
    path = parts.path or page
    adapter = app.url_map.bind("localhost")
    try:
        return adapter.match(path, method=method)[0]
    except RequestRedirect as redirect:
        return adapter.match(urlsplit(redirect.new_url).path, method=method)[0]
    except (NotFound, MethodNotAllowed):
        return None


@pytest.fixture
def content(client, form_client, sandbox, sandbox_client, sandbox_channels, drain):
    """Something of each kind the pages list: a draft, a scheduled post, a post
    with a failed network (Retry), an upload, a WhatsApp contact; returns the pages to visit."""
    def new(**fields):
        response = client.post("/api/posts", json={"text": fields.pop("text"),
                                                   "image_url": f"{sandbox.url}/_sandbox/image.jpg", **fields})
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    draft = new(text="A draft")
    scheduled = new(text="Later", scheduled_at=(utcnow() + dt.timedelta(days=30)).isoformat() + "+00:00")
    sandbox_client.configure(linkedin={"fail": {"error": "bad_parameter", "times": 1}})
    failed = new(text="Partly out")
    assert client.post(f"/api/posts/{failed}/publish").status_code == 202
    drain()
    assert upload(client, photo()).status_code == 201
    whatsapp = sandbox_channels["whatsapp"]
    added = client.post(f"/api/channels/{whatsapp}/contacts", json={
        "phone": "+33612345678", "opted_in": True, "opt_in_method": "website form"})
    assert added.status_code == 201, added.get_json()
    return ["/posts", f"/posts/{draft}", f"/posts/{scheduled}", f"/posts/{failed}", "/calendar", "/channels",
            "/media", "/monitor", "/account", f"/channels/{whatsapp}/contacts", "/compose", "/posts/import",
            f"/posts/{draft}/edit", "/team", "/webhooks"]


@pytest.mark.parametrize("role", [V, E, A])
def test_every_link_and_form_a_role_is_shown_is_one_it_may_use(app, member, content, role):
    client = member(role, token=False)
    shown, refused = 0, []
    for page in content:
        response = client.get(page)
        if response.status_code == 403:
            continue  # a page the role may not open is not one it sees
        assert response.status_code == 200, (page, response.status_code)
        for method, href in targets(response.get_data(as_text=True)):
            endpoint = endpoint_of(app, method, href, page)
            if endpoint is None or endpoint not in ROLE_NEEDED:
                continue
            shown += 1
            if not allows(role, ROLE_NEEDED[endpoint]):
                refused.append((page, method, href, ROLE_NEEDED[endpoint]))
    assert shown >= 20
    assert refused == [], f"a {role} is shown what their role refuses: {refused}"
