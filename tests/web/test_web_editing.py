"""A post's page actions through Flask's test client: edit in the compose
form, cancel its schedule, duplicate it, delete it — and what is refused once
publishing started."""
import html
import re

from socialpub import db
from socialpub.models import Publication

from tests.support.web_helpers import input_value, page, textarea
from tests.web.test_editing import iso_in


def new_post(client, **fields):
    fields.setdefault("text", "From the page")
    fields.setdefault("networks", ["facebook"])
    response = client.post("/api/posts", json=fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def form_of(text: str) -> dict:
    return {"form_key": re.search(r'name="form_key" value="([0-9a-f]+)"', text).group(1)}


def test_the_edit_page_shows_the_post_and_saves_the_change(form_client, client, sandbox_channels):
    post_id = new_post(client, overrides={"facebook": "Facebook's own"})
    text = page(form_client.get(f"/posts/{post_id}/edit"))
    assert "Edit post #" in text and "From the page" in text and "Facebook&#39;s own" in text
    response = form_client.post(f"/posts/{post_id}/edit", data={
        **form_of(text), "text": "Edited on the page", "channels": [sandbox_channels["facebook"]],
        "override_facebook": "", "action": "save"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/posts/{post_id}")
    assert "Saved. It is a draft." in page(form_client.get(response.headers["Location"]))
    assert client.get(f"/api/posts/{post_id}").get_json()["text"] == "Edited on the page"


def test_a_refused_edit_keeps_the_form_as_typed(form_client, client, sandbox_channels):
    post_id = new_post(client, networks=["linkedin"])
    text = page(form_client.get(f"/posts/{post_id}/edit"))
    # Over LinkedIn's limit: a draft may be, a post going out may not.
    response = form_client.post(f"/posts/{post_id}/edit", data={
        **form_of(text), "text": "y" * 3100, "channels": [sandbox_channels["linkedin"]], "action": "publish"})
    assert response.status_code == 422 and "y" * 3100 in page(response)
    assert client.get(f"/api/posts/{post_id}").get_json()["text"] == "From the page"


def test_schedule_cancel_duplicate_and_delete_from_the_post_page(form_client, client, sandbox_channels):
    post_id = new_post(client, scheduled_at=iso_in(60))
    text = page(form_client.get(f"/posts/{post_id}"))
    assert "Cancel schedule" in text and "Edit" in text and "Duplicate" in text
    cancelled = form_client.post(f"/posts/{post_id}/cancel", follow_redirects=True)
    assert "Cancelled: it is a draft again." in page(cancelled)
    copy = form_client.post(f"/posts/{post_id}/duplicate")
    assert copy.status_code == 302 and "/edit" in copy.headers["Location"]
    copy_id = int(re.search(r"/posts/(\d+)/edit", copy.headers["Location"]).group(1))
    assert copy_id != post_id
    gone = form_client.post(f"/posts/{copy_id}/delete", follow_redirects=True)
    assert f"Post #{copy_id} deleted" in page(gone)
    assert client.get(f"/api/posts/{copy_id}").status_code == 404


def test_a_post_whose_network_call_started_cannot_be_edited_or_deleted(form_client, client, sandbox_channels):
    post_id = new_post(client)
    assert client.post(f"/api/posts/{post_id}/publish").status_code == 202
    # Queued, no worker has it yet: it can still be edited (saving takes it back).
    assert "Not editable" not in html.unescape(page(form_client.get(f"/posts/{post_id}/edit")))
    with db.database.connection_context():  # a worker's claim, the moment before its network call
        Publication.update(status="processing", attempts=1).where(Publication.post == post_id).execute()
    refused = form_client.get(f"/posts/{post_id}/edit", follow_redirects=True)
    assert "Not editable: publishing has started" in html.unescape(page(refused))
    deleted = form_client.post(f"/posts/{post_id}/delete", follow_redirects=True)
    assert "Not done:" in page(deleted) and client.get(f"/api/posts/{post_id}").status_code == 200


def test_a_published_posts_record_is_deleted_only_when_asked(form_client, client, sandbox_channels, publish_and_drain):
    post_id = publish_and_drain(networks=["facebook"])
    text = page(form_client.get(f"/posts/{post_id}"))
    assert "Delete the record" in text and "Edit</a>" not in text
    refused = form_client.post(f"/posts/{post_id}/delete", follow_redirects=True)
    assert "its record is kept as history" in page(refused)
    done = form_client.post(f"/posts/{post_id}/delete", data={"include_history": "1"}, follow_redirects=True)
    assert f"Post #{post_id} deleted" in page(done)


def test_a_form_saved_over_someone_elses_change_comes_back_as_typed_saying_what_changed(
        form_client, client, sandbox_channels):
    post_id = new_post(client)
    opened = page(form_client.get(f"/posts/{post_id}/edit"))
    version = input_value(opened, "version")
    assert version == client.get(f"/api/posts/{post_id}").get_json()["updated_at"]
    # Someone else saves a change while the form is open.
    assert client.patch(f"/api/posts/{post_id}", json={"link": "https://example.com/theirs"}).status_code == 200
    response = form_client.post(f"/posts/{post_id}/edit", data={
        **form_of(opened), "version": version, "text": "My careful rewrite",
        "channels": [sandbox_channels["facebook"]], "action": "save"})
    assert response.status_code == 409
    shown = page(response)
    assert textarea(shown, "text") == "My careful rewrite"  # the input is kept
    assert "Someone else changed this post" in html.unescape(shown) and "https://example.com/theirs" in shown
    assert client.get(f"/api/posts/{post_id}").get_json()["text"] == "From the page"  # nothing written
    # The form now carries the version it was shown against: saving again is a choice, and it holds.
    assert input_value(shown, "version") == client.get(f"/api/posts/{post_id}").get_json()["updated_at"]
    again = form_client.post(f"/posts/{post_id}/edit", data={
        **form_of(shown), "version": input_value(shown, "version"), "text": "My careful rewrite",
        "link": "https://example.com/theirs", "channels": [sandbox_channels["facebook"]], "action": "save"})
    assert again.status_code == 302
    assert client.get(f"/api/posts/{post_id}").get_json()["text"] == "My careful rewrite"
