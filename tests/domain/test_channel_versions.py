"""One version per channel, not per network (issue 28, item 3): two Pages of
one network get their own texts, two WhatsApp numbers their own templates and
audiences — each broadcast sends its own —, a CSV names channels, and the
compose form ticks nothing that cannot be sent."""
from __future__ import annotations

import pytest

from socialpub import db
from socialpub.intake.channels import create_channel
from socialpub.models import Channel, Post, Publication

from tests.support.whatsapp_fixtures import WHATSAPP_SETTINGS, add_contacts, numbers

pytestmark = pytest.mark.settings(**WHATSAPP_SETTINGS)


def a_channel(sandbox, network, name, account_id, **extra):
    """Another channel of ``network`` on the sandbox (beside sandbox_channels' one); returns its id."""
    from socialpub import api_versions

    base = f"{sandbox.url}/{api_versions.DEFAULT_GRAPH_VERSION}" if network != "linkedin" else sandbox.url
    token = {"facebook": "sandbox-page-token", "whatsapp": "sandbox-wa-token"}[network]
    with db.database.connection_context():
        return create_channel({"network": network, "name": name, "account_id": account_id, "token": token,
                               "base_url": base, **extra}).id


@pytest.fixture
def second_page(sandbox, sandbox_channels):
    return a_channel(sandbox, "facebook", "Second Page", "546349135390999")


@pytest.fixture
def second_number(client, sandbox, whatsapp):
    """A second WhatsApp number of the same business account, its templates synced; no contacts yet."""
    channel_id = a_channel(sandbox, "whatsapp", "Shop number", "106540352249999",
                           business_account_id="102290129340398", default_country="FR")
    response = client.post(f"/api/channels/{channel_id}/templates/sync")
    assert response.status_code == 200, response.get_json()
    return channel_id


def rows():
    with db.database.connection_context():
        return Post.select().count(), Publication.select().count()


def assert_refused(response, status, field):
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["field"] == field, error
    assert field in error["message"]
    return error


def test_two_facebook_pages_get_their_own_texts(client, sandbox_channels, second_page):
    first = sandbox_channels["facebook"]
    response = client.post("/api/posts", json={
        "text": "For everyone", "channels": [first, second_page, sandbox_channels["linkedin"]],
        "overrides": {"facebook": "For Facebook", "linkedin": "For LinkedIn"},
        "versions": {str(second_page): {"text": "For the second Page only"}}})
    assert response.status_code == 201, response.get_json()
    texts = {p["channel_id"]: p["text"] for p in response.get_json()["publications"]}
    # The channel's version wins over its network's override, which wins over the post's text.
    assert texts == {first: "For Facebook", second_page: "For the second Page only",
                     sandbox_channels["linkedin"]: "For LinkedIn"}


def test_a_channels_version_is_kept_and_changed_by_an_edit(client, sandbox_channels, second_page):
    first = sandbox_channels["facebook"]
    post = client.post("/api/posts", json={
        "text": "Draft", "channels": [first, second_page],
        "versions": {str(second_page): {"text": "Second's own"}}}).get_json()
    edited = client.patch(f"/api/posts/{post['id']}", json={"text": "Draft, edited"})
    assert edited.status_code == 200, edited.get_json()
    texts = {p["channel_id"]: p["text"] for p in edited.get_json()["publications"]}
    assert texts == {first: "Draft, edited", second_page: "Second's own"}
    changed = client.patch(f"/api/posts/{post['id']}", json={
        "versions": {str(first): {"text": "First's own"}}}).get_json()
    assert {p["channel_id"]: p["text"] for p in changed["publications"]} == {
        first: "First's own", second_page: "Draft, edited"}
    unticked = client.patch(f"/api/posts/{post['id']}", json={"channels": [second_page]}).get_json()
    assert {p["channel_id"]: p["text"] for p in unticked["publications"]} == {second_page: "Draft, edited"}


def test_a_duplicate_keeps_each_channels_version(client, sandbox_channels, second_page):
    first = sandbox_channels["facebook"]
    post = client.post("/api/posts", json={"text": "Base", "channels": [first, second_page],
                                           "versions": {str(first): {"text": "A"}, str(second_page): {"text": "B"}}})
    copy = client.post(f"/api/posts/{post.get_json()['id']}/duplicate")
    assert copy.status_code == 201, copy.get_json()
    assert {p["channel_id"]: p["text"] for p in copy.get_json()["publications"]} == {first: "A", second_page: "B"}


@pytest.mark.parametrize("versions, status, field", [
    ("not an object", 400, "versions"),
    ({"twelve": {"text": "x"}}, 400, "versions"),
    ({"{fb}": {"text": "   "}}, 400, "versions.{fb}.text"),
    ({"{fb}": {"text": 5}}, 400, "versions.{fb}.text"),
    ({"{fb}": {}}, 400, "versions.{fb}"),
    ({"{fb}": {"text": "x", "colour": "red"}}, 400, "versions.{fb}.colour"),
    ({"{fb}": {"whatsapp": {"template": None}}}, 400, "versions.{fb}.whatsapp"),
    ({"{li}": {"text": "not ticked"}}, 422, "versions.{li}"),
    ({"999999": {"text": "no such channel"}}, 422, "versions.999999"),
    ({"{fb}": {"text": "x" * 63_207}}, 422, "versions.{fb}.text"),
])
def test_a_bad_version_is_refused_naming_its_field_and_stores_nothing(client, sandbox_channels, versions, status,
                                                                        field):
    ids = {"fb": sandbox_channels["facebook"], "li": sandbox_channels["linkedin"]}
    if isinstance(versions, dict):
        versions = {key.format(**ids): value for key, value in versions.items()}
    before = rows()
    response = client.post("/api/posts", json={"text": "Hello", "channels": [ids["fb"]], "versions": versions})
    assert_refused(response, status, field.format(**ids))
    assert rows() == before


def test_a_version_over_its_networks_limit_is_refused_naming_the_version(client, sandbox_channels, second_page):
    response = client.post("/api/posts", json={
        "text": "Fine", "channels": [sandbox_channels["linkedin"]], "publish": True,
        "versions": {str(sandbox_channels["linkedin"]): {"text": "x" * 3001}}})
    error = assert_refused(response, 422, f"versions.{sandbox_channels['linkedin']}.text")
    assert error["details"][0]["channel"] == sandbox_channels["linkedin"]


def test_two_whatsapp_numbers_each_send_their_own_template_to_their_own_audience(
        client, whatsapp, second_number, sandbox_client, drain):
    add_contacts(client, whatsapp, numbers(2), audience="Regulars")
    add_contacts(client, second_number, numbers(3, start=100), audience="Shoppers")
    response = client.post("/api/posts", json={
        "text": "Spring menu", "channels": [whatsapp, second_number], "publish": True,
        "whatsapp": {"template": "weekly_digest", "language": "en_US", "body": ["{text}", "https://example.com"],
                     "audience": "Regulars"},
        "versions": {str(second_number): {"text": "Shop sale", "whatsapp": {
            "template": "news_update", "language": "es_ES", "body": ["{text}"], "audience": "Shoppers"}}}})
    assert response.status_code == 201, response.get_json()
    publications = {p["channel_id"]: p for p in response.get_json()["publications"]}
    assert publications[whatsapp]["whatsapp"] is None  # the post's message
    assert publications[second_number]["whatsapp"]["template"] == "news_update"
    drain()
    with db.database.connection_context():
        assert {p.status for p in Publication.select()} == {"published"}
        first_account = Channel.get_by_id(whatsapp).account_id
    sent = sandbox_client.received("whatsapp")
    by_number = {}
    for message in sent:
        by_number.setdefault(message["account_id"], set()).add((message["to"], message["text"]))
    assert by_number[first_account] == {(p, "This week: Spring menu. Read more at https://example.com")
                                        for p in numbers(2)}
    assert by_number["106540352249999"] == {(p, "Novedades: Shop sale") for p in numbers(3, start=100)}


def test_a_numbers_own_message_is_checked_against_its_own_templates_and_audiences(
        client, whatsapp, second_number):
    from socialpub.models import Template

    add_contacts(client, second_number, numbers(1, start=200), audience="Shoppers")
    with db.database.connection_context():  # this number's business has no news_update
        Template.delete().where((Template.channel == second_number) & (Template.name == "news_update")).execute()
    before = rows()
    own = f"versions.{second_number}.whatsapp"
    response = client.post("/api/posts", json={
        "text": "Hola", "channels": [whatsapp, second_number], "publish": True,
        "versions": {str(second_number): {"whatsapp": {"template": "news_update", "language": "es_ES",
                                                       "body": ["{text}"]}}}})
    assert_refused(response, 400, f"{own}.template")
    response = client.post("/api/posts", json={
        "text": "Hola", "channels": [whatsapp, second_number], "publish": True,
        "versions": {str(second_number): {"whatsapp": {"template": "weekly_digest", "language": "en_US",
                                                       "body": ["{text}", "x"], "audience": "Regulars"}}}})
    error = assert_refused(response, 400, f"{own}.audience")
    assert "Shop number" in error["message"]
    assert rows() == before


def test_a_paused_own_template_refuses_publish_now_naming_the_channels_version(client, whatsapp, second_number):
    from socialpub.models import Template

    add_contacts(client, second_number, numbers(1, start=300))
    post = client.post("/api/posts", json={
        "text": "Later", "channels": [whatsapp, second_number],
        "versions": {str(second_number): {"whatsapp": {"template": "news_update", "language": "es_ES",
                                                       "body": ["{text}"]}}}}).get_json()
    with db.database.connection_context():
        Template.update(status="PAUSED").where((Template.channel == second_number)
                                               & (Template.name == "news_update")).execute()
    response = client.post(f"/api/posts/{post['id']}/publish")
    assert_refused(response, 400, f"versions.{second_number}.whatsapp.template")


def import_csv(client, text):
    import io

    return client.post("/api/posts/import", data={"file": (io.BytesIO(text.encode()), "posts.csv")},
                       content_type="multipart/form-data")


def test_a_csv_line_naming_a_network_with_two_pages_is_refused_naming_them(client, sandbox_channels, second_page):
    before = rows()
    response = import_csv(client, "text,networks\nFine,linkedin\nWhich Page?,facebook\n")
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert [(d["line"], d["field"]) for d in error["details"]] == [(3, "networks")]
    message = error["details"][0]["message"]
    assert f"Sandbox Page (id {sandbox_channels['facebook']})" in message
    assert f"Second Page (id {second_page})" in message
    assert "channels column" in message
    assert rows() == before


def test_a_csv_line_names_channels_by_id_or_by_name(client, sandbox_channels, second_page):
    response = import_csv(client, f"text,channels\nBy name,Second Page;sandbox linkedin\n"
                                  f"By id,{sandbox_channels['facebook']}\n")
    assert response.status_code == 201, response.get_json()
    with db.database.connection_context():
        made = [sorted(p.channel_id for p in Publication.select().where(Publication.post == post_id))
                for post_id in (p.id for p in Post.select().order_by(Post.id))]
    assert made == [sorted([second_page, sandbox_channels["linkedin"]]), [sandbox_channels["facebook"]]]


def test_a_csv_channel_name_that_is_no_channel_is_refused_listing_them(client, sandbox_channels):
    response = import_csv(client, "text,channels\nHello,Nowhere Page\n")
    assert response.status_code == 422
    detail = response.get_json()["error"]["details"][0]
    assert detail["line"] == 2 and detail["field"] == "channels"
    assert "no channel is named 'Nowhere Page'" in detail["message"] and "Sandbox Page" in detail["message"]


def test_a_csv_network_with_one_channel_still_works(client, sandbox_channels, second_page):
    response = import_csv(client, "text,networks\nPro,linkedin\n")
    assert response.status_code == 201, response.get_json()
