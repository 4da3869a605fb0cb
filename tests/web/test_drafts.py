"""Drafts are drafts: a draft is saved whatever the networks' rules (an
Instagram post without its image, a caption over a limit, a WhatsApp template
not synced yet), and those rules are checked — with the messages a new post
gets, naming the field — on every way it goes out: scheduled, queued (“Add to
queue”), moved on the calendar, published, approved, imported with a time."""
import io

from socialpub import db
from socialpub.models import Channel, Post
from socialpub.networks import LIMITS
from socialpub.statuses import PostStatus

from tests.support.web_helpers import field_errors, page, textarea
from tests.web.test_calendar import move
from tests.web.test_editing import iso_in
from tests.domain.test_queue import every_day, set_queue

NO_IMAGE = "image_url: an image is required (instagram)"


def instagram_draft(client, sandbox_channels, **fields) -> int:
    response = client.post("/api/posts", json={"text": "No picture yet", "channels": [sandbox_channels["instagram"]],
                                               **fields})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "draft"
    return response.get_json()["id"]


def status_of(post_id) -> str:
    with db.database.connection_context():
        return Post.get_by_id(post_id).status


def refused(response, field="image_url", status=422):
    body = response.get_json()
    assert response.status_code == status, body
    assert body["error"]["field"] == field
    return body["error"]["message"]


def test_an_instagram_draft_without_its_image_is_saved_and_refused_when_published(client, sandbox_channels):
    post_id = instagram_draft(client, sandbox_channels)
    assert NO_IMAGE in refused(client.post(f"/api/posts/{post_id}/publish"))
    assert status_of(post_id) == PostStatus.DRAFT
    assert client.post(f"/api/posts/{post_id}/publish", json={"image_url": "https://example.com/a.jpg"}
                       ).status_code == 202


def test_a_draft_over_a_networks_limit_is_saved_and_refused_when_scheduled(client, sandbox_channels):
    too_long = "x" * (LIMITS["linkedin"].max_text + 1)
    made = client.post("/api/posts", json={"text": too_long, "channels": [sandbox_channels["linkedin"]]})
    assert made.status_code == 201, made.get_json()
    post_id = made.get_json()["id"]
    message = refused(client.patch(f"/api/posts/{post_id}", json={"scheduled_at": iso_in(60)}), "text")
    assert "(linkedin)" in message
    assert status_of(post_id) == PostStatus.DRAFT


def test_the_same_post_created_to_go_out_gets_the_same_message_as_the_draft_later(client, sandbox_channels):
    post_id = instagram_draft(client, sandbox_channels)
    later = refused(client.post(f"/api/posts/{post_id}/publish"))
    at_once = refused(client.post("/api/posts", json={"text": "No picture yet", "publish": True,
                                                      "channels": [sandbox_channels["instagram"]]}))
    scheduled = refused(client.post("/api/posts", json={"text": "No picture yet", "scheduled_at": iso_in(60),
                                                        "channels": [sandbox_channels["instagram"]]}))
    assert later == at_once == scheduled


def test_add_to_queue_refuses_a_draft_the_network_would_refuse_before_looking_for_a_time(client,
                                                                                        sandbox_channels):
    set_queue(client, sandbox_channels["instagram"], "UTC", every_day("09:00"))
    post_id = instagram_draft(client, sandbox_channels)
    assert NO_IMAGE in refused(client.post(f"/api/posts/{post_id}/queue"))
    assert status_of(post_id) == PostStatus.DRAFT


def test_moving_a_draft_onto_the_calendar_is_refused_naming_the_field(form_client, client, sandbox_channels):
    post_id = instagram_draft(client, sandbox_channels)
    moved = move(form_client, post_id=post_id, scheduled_at=iso_in(60)[:16], timezone="UTC")
    assert NO_IMAGE in refused(moved)
    assert status_of(post_id) == PostStatus.DRAFT


def test_editing_a_draft_into_a_scheduled_post_is_refused_but_editing_it_as_a_draft_is_not(client,
                                                                                          sandbox_channels):
    post_id = instagram_draft(client, sandbox_channels)
    assert client.patch(f"/api/posts/{post_id}", json={"text": "Still no picture"}).status_code == 200
    refused(client.patch(f"/api/posts/{post_id}", json={"text": "Now with a time", "scheduled_at": iso_in(60)}))
    assert status_of(post_id) == PostStatus.DRAFT


def test_a_post_awaiting_approval_is_checked_when_approved(client, sandbox_channels):
    post_id = instagram_draft(client, sandbox_channels)
    with db.database.connection_context():  # asked for before drafts were kept unchecked
        Post.update(status=PostStatus.AWAITING, approval_asked="publish").where(Post.id == post_id).execute()
    assert NO_IMAGE in refused(client.post(f"/api/posts/{post_id}/approve"))
    assert status_of(post_id) == PostStatus.AWAITING


def test_an_editors_draft_is_checked_before_it_is_sent_for_approval(client, member, sandbox_channels):
    with db.database.connection_context():
        Channel.update(requires_approval=True).where(Channel.id == sandbox_channels["instagram"]).execute()
    editor = member("editor")
    post_id = instagram_draft(editor, sandbox_channels)
    assert NO_IMAGE in refused(editor.post(f"/api/posts/{post_id}/publish"))
    assert status_of(post_id) == PostStatus.DRAFT


def test_a_csv_line_without_a_time_is_a_draft_and_one_with_a_time_is_checked(client, sandbox_channels):
    def send(lines):
        return client.post("/api/posts/import", content_type="multipart/form-data",
                           data={"file": (io.BytesIO("\n".join(lines).encode()), "posts.csv")})

    kept = send(["text,networks,scheduled_at", "A draft for Instagram,instagram,"])
    assert kept.status_code == 201, kept.get_json()
    timed = send(["text,networks,scheduled_at", f"A timed one,instagram,{iso_in(60)}"])
    body = timed.get_json()["error"]
    assert timed.status_code == 422 and body["field"] == "file"
    assert body["details"][0]["line"] == 2 and body["details"][0]["field"] == "image_url"


def test_a_whatsapp_draft_may_name_a_template_not_synced_yet_and_is_refused_when_scheduled(client,
                                                                                          sandbox_channels):
    choice = {"template": "spring_sale", "language": "en_US", "body": []}
    made = client.post("/api/posts", json={"text": "Soon", "channels": [sandbox_channels["whatsapp"]],
                                           "whatsapp": choice})
    assert made.status_code == 201, made.get_json()
    post_id = made.get_json()["id"]
    message = refused(client.patch(f"/api/posts/{post_id}", json={"scheduled_at": iso_in(60)}),
                      "whatsapp.template", status=400)
    assert "has no template 'spring_sale'" in message and "sync its templates" in message


def test_the_compose_form_saves_the_draft_and_keeps_the_form_when_it_is_to_go_out(form_client, sandbox_channels):
    data = {"text": "A draft for Instagram", "channels": [str(sandbox_channels["instagram"])]}
    assert form_client.post("/compose", data=dict(data, action="draft")).status_code == 302
    for action in ("publish", "queue"):
        response = form_client.post("/compose", data=dict(data, action=action))
        assert response.status_code == 422
        html = page(response)
        assert textarea(html, "text") == "A draft for Instagram"
        assert field_errors(html, "image_url") == ["Instagram: an image is required"]


def test_publish_now_on_a_drafts_page_says_what_stops_it(form_client, client, sandbox_channels):
    post_id = instagram_draft(client, sandbox_channels)
    html = page(form_client.post(f"/posts/{post_id}/publish", follow_redirects=True))
    assert "Not published: image_url: an image is required (instagram)" in html
    assert status_of(post_id) == PostStatus.DRAFT
