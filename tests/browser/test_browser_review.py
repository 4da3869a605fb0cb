"""A review link in headless Chromium: the team ticks two posts and makes a
link; in a browser without an account the reviewer approves one and asks for
changes on the other; the author is told in the app and by e-mail and the
History names the reviewer; an expired and a withdrawn link answer a plain
page that shows no post. It writes docs/review.png."""
import datetime as dt
from email.header import decode_header, make_header

import pytest

from socialpub import db
from socialpub.models import ReviewLink, utcnow
from socialpub.reviewing import links
from tests.browser.test_browser_media import click
from tests.domain.test_mail import inbox  # noqa: F401 (the loopback SMTP server)
from tests.support.browser import screenshot, wait
from tests.conftest import TEST_EMAIL

TEXTS = ("Spring menu: three new dishes from Monday", "Closed on Monday 15th for the holiday")


@pytest.fixture
def settings(settings, inbox):  # noqa: F811
    return settings.with_(smtp_url=inbox.url, mail_from="socialpub@example.test")


def test_a_client_without_an_account_answers_a_review_link_and_the_team_hears_of_it(
        browser, live_server, client, inbox):  # noqa: F811
    ids = [client.post("/api/posts", json={"text": text, "networks": ["facebook", "linkedin"],
                                           "first_comment": "#menu #spring"}).get_json()["id"] for text in TEXTS]
    browser.get(f"{live_server}/posts")
    for post_id in ids:
        click(browser, browser.find_element("css selector", f"input[name=ids][value='{post_id}']"))
    browser.find_element("id", "review-label").send_keys("Week 50 for Café Luna")
    click(browser, browser.find_element("id", "make-review-link"))
    url = wait(browser, lambda d: d.find_element("id", "new-review-link-value"), "the link, shown once").text
    assert url.startswith(live_server + "/r/")

    browser.delete_all_cookies()  # the reviewer has no account
    browser.get(url)
    wait(browser, lambda d: d.find_element("id", "review-title"), "the review page")
    assert browser.find_element("id", "review-title").text == "Week 50 for Café Luna"
    assert not browser.find_elements("css selector", "nav[aria-label=Main]")
    screenshot(browser, "review.png")
    first, second = (browser.find_element("id", f"post-{i}") for i in ids)
    first.find_element("css selector", "input[name=reviewer]").send_keys("Ana Pérez")
    click(browser, first.find_element("css selector", "button[value=approved]"))
    wait(browser, lambda d: "Approved by Ana Pérez" in d.find_element("id", f"post-{ids[0]}").text,
         "the first post approved")
    second = browser.find_element("id", f"post-{ids[1]}")
    second.find_element("css selector", "input[name=reviewer]").send_keys("Ana Pérez")
    second.find_element("css selector", "textarea[name=comment]").send_keys("Say which Monday: the 15th?")
    click(browser, second.find_element("css selector", "button[value=changes]"))
    wait(browser, lambda d: "asked for changes" in d.find_element("id", f"post-{ids[1]}").text,
         "the second post's changes asked")

    # The author: told in the app, by e-mail, and the History names the reviewer.
    notices = [n["text"] for n in client.get("/api/notices").get_json()["items"]]
    assert any(n.startswith("Ana Pérez approved post") for n in notices)
    assert any("Say which Monday: the 15th?" in n for n in notices)
    mails = inbox.wait_for(2)
    subjects = [" ".join(str(make_header(decode_header(m["Subject"]))).split()) for m in mails
                if m["To"] == TEST_EMAIL]
    assert any(s.startswith(f"Ana Pérez approved post #{ids[0]}") for s in subjects), subjects
    assert any(s.startswith(f"Ana Pérez asked for changes to post #{ids[1]}") for s in subjects), subjects
    for post_id, action in zip(ids, ("approved on the review link", "changes asked on the review link")):
        line = next(e for e in client.get(f"/api/posts/{post_id}/events").get_json()["items"]
                    if e["action"] == action)
        assert line["actor"] == "Ana Pérez (reviewer)"

    # An expired link and a withdrawn one: a plain page, no post.
    with db.database.connection_context():
        expired, expired_token = links.make([ids[0]], "Expired")
        ReviewLink.update(expires_at=utcnow() - dt.timedelta(minutes=1)).where(ReviewLink.id == expired.id).execute()
        withdrawn, withdrawn_token = links.make([ids[1]], "Withdrawn")
        links.revoke(withdrawn.id)
    for token, words in ((expired_token, "has expired"), (withdrawn_token, "was withdrawn")):
        browser.get(f"{live_server}/r/{token}")
        closed = wait(browser, lambda d: d.find_element("id", "review-closed"), "the plain page").text
        assert words in closed
        body = browser.find_element("tag name", "body").text
        assert TEXTS[0] not in body and TEXTS[1] not in body
