"""A network's refusal keeps its words and gains what it means and what to
do; a publication whose channel needs re-authorisation offers no Retry, but a
link to reconnect the channel."""
from socialpub import db
from socialpub.models import Channel, ChannelState, Publication
from socialpub.networks.explain import meaning

from tests.support.web_helpers import page


def test_the_codes_people_meet_are_explained_by_network():
    assert "reconnect the channel" in meaning("facebook", "190/463", "Error validating access token")
    assert "Community Management API" in meaning(
        "linkedin", "403", "Not enough permissions to access: partnerApiPostsExternal.CREATE.20240101")
    assert "24 hours" in meaning("whatsapp", "131047", "Re-engagement message")
    assert "image" in meaning("instagram", "100", "(#100) The image_url could not be fetched")
    assert meaning("linkedin", "190", "x") is None and meaning("facebook", None, "x") is None


def test_the_post_page_shows_the_meaning_and_no_retry_for_a_channel_needing_reauth(
        form_client, client, sandbox_channels, sandbox_client, publish_and_drain):
    sandbox_client.configure(facebook={"fail": {"error": "bad_parameter"}})
    post_id = publish_and_drain(networks=["facebook"])
    text = page(form_client.get(f"/posts/{post_id}"))
    assert "(#100) Invalid parameter" in text and "Meta refused one of the post" in text
    status = client.get(f"/api/posts/{post_id}/status").get_json()["publications"][0]
    assert status["error_meaning"].startswith("Meta refused one of the post")
    with db.database.connection_context():
        Channel.update(state=ChannelState.NEEDS_REAUTH, state_reason="(#190) expired").where(
            Channel.id == sandbox_channels["facebook"]).execute()
        pub = Publication.get(Publication.post == post_id)
    text = page(form_client.get(f"/posts/{post_id}"))
    form = text.split(f'action="/publications/{pub.id}/retry" class="retry-form"')[1].split(">")[0]
    assert form.startswith(" hidden") and "no longer accepts this channel&#39;s connection" in text
    assert f'href="/channels/{sandbox_channels["facebook"]}/edit">Update the token of Sandbox Page' in text


def test_the_codes_the_error_table_changed_are_explained_in_plain_words():
    assert "Nobody is marked failed" in meaning("whatsapp", "131064", "(#131064) Messaging limit reached")
    assert "quality rating" in meaning("whatsapp", "131048", "(#131048) Spam rate limit hit")
    assert "Do not resend at once" in meaning("whatsapp", "131049", "(#131049) This message was not delivered")
    assert "experiment" in meaning("whatsapp", "130472", "(#130472) User's number is part of an experiment")
    for code in ("10", "200", "230", "299"):
        assert "needs re-authorisation" in meaning("facebook", code, "(#200) Requires a permission")
    assert meaning("facebook", "300", "x") is None  # past the permission range
    assert "needs re-authorisation" in meaning("whatsapp", "131005", "(#131005) Access denied")
    assert "no longer serves the API version" in meaning("linkedin", "426", "NONEXISTENT_VERSION")
