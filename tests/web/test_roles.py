"""Roles: the table of every route and the role it needs, enforced for pages
(a page saying which role) and the API (403 JSON), by session and by token."""
from __future__ import annotations

import re

import pytest

from socialpub.web.auth.gate import SAFE_METHODS

V, E, A = "viewer", "editor", "admin"

#: Every route that needs signing in, by endpoint: the weakest role allowed.
ROLE_NEEDED = {
    # pages
    "web.index": V, "web.posts": V, "web.post": V, "web.calendar": V, "web.channels": V,
    "web.media_library": V, "monitor.page": V, "monitor.data": V, "auth.account": V,
    "auth.sign_out": V, "auth.change_password": V, "auth.create_token": V, "auth.revoke_token": V,
    "auth.change_notifications": V, "web.notices_page": V, "web.read_notices": V,
    "web.analytics_page": V, "web.analytics_export": V, "web.channel_analytics": V, "web.use_best_times": A,
    "web.review_links": V, "web.make_review_link": E, "web.revoke_review_link": E,
    "web.snippets_page": V, "web.add_snippet": E, "web.delete_snippet": E,
    "api.create_review_link": E, "api.list_review_links": V, "api.revoke_review_link": E,
    "api.list_snippets": V, "api.create_snippet": E, "api.change_snippet": E, "api.delete_snippet": E,
    "web.compose": E, "web.create": E, "web.edit_post": E, "web.publish": E, "web.retry": E,
    "web.cancel_post": E, "web.skip_occurrence": E, "web.delete_post": E, "web.duplicate_post": E, "web.queue_post": E,
    "web.bulk": E, "web.import_posts": E, "web.move_post": E, "web.upload_media": E, "web.delete_media": E,
    "web.new_channel": A, "web.edit_channel": A, "web.connect": A, "web.connect_callback": A,
    "web.connect_choose": A, "monitor.clear_dead_letters": A,
    "auth.team_page": A, "auth.invite": A, "auth.withdraw_invitation": A, "auth.change_role": A,
    "auth.disable": A, "auth.enable": A, "auth.reset": A, "web.approve_post": A, "web.reject_post": A,
    "web.webhooks": A, "web.create_webhook": A, "web.rotate_webhook": A, "web.toggle_webhook": A,
    "web.delete_webhook": A, "web.webhook_log": A, "web.resend_webhook": A, "web.revoke_previous_webhook_secret": A,
    "web.test_webhook": A,
    "web.whatsapp_contacts": V, "web.add_whatsapp_contact": E, "web.import_whatsapp_contacts": E,
    "web.opt_out_whatsapp_contact": E, "web.opt_in_whatsapp_contact": E, "web.sync_whatsapp_templates": A,
    "metrics": V,
    # the API
    "api.me": V, "api.change_me": V, "api.list_posts": V, "api.get_post": V, "api.post_status": V, "api.post_events": V,
    "api.calendar": V, "api.list_channels": V, "api.get_channel": V, "api.channel_quotas": V, "api.change_channel": A,
    "api.list_notices": V, "api.read_notices": V,
    "api.post_metrics": V, "api.analytics": V, "api.analytics_export": V, "api.channel_metrics": V, "api.best_times": V,
    # Who connected a channel, its token changes and its contacts' opt-ins: the admins' business, like a user's trail.
    "api.channel_events": A,
    "api.list_media": V, "api.get_media": V, "api.media_file": V, "api.media_thumbnail": V, "api.media_preflight": V,
    "api.create_post": E, "api.edit_post": E, "api.delete_post": E, "api.publish_post": E,
    "api.retry_post": E, "api.retry_publication": E, "api.cancel_post": E, "api.skip_occurrence": E, "api.duplicate_post": E,
    "api.queue_post": E, "api.bulk_posts": E, "api.import_posts": E, "api.upload_media": E,
    "api.delete_media": E,
    "api.create_channel": A, "api.set_channel_queue": A, "api.list_users": A, "api.change_user": A,
    "api.reset_user": A, "api.list_invitations": A, "api.invite": A, "api.withdraw_invitation": A,
    "api.user_events": A, "api.approve_post": A, "api.reject_post": A,
    "api.list_webhooks": A, "api.create_webhook": A, "api.get_webhook": A, "api.change_webhook": A,
    "api.delete_webhook": A, "api.rotate_webhook_secret": A, "api.webhook_deliveries": A, "api.resend_webhook": A,
    "api.revoke_previous_webhook_secret": A, "api.test_webhook": A,
    "api.list_contacts": V, "api.publication_recipients": V, "api.list_templates": V, "api.add_contacts": E,
    "api.import_contacts": E, "api.opt_out_contact": E, "api.opt_in_contact": E, "api.sync_templates": A,
    "api.create_upload": E, "api.upload_part": E, "api.abandon_upload": E,
    "web.create_upload": E, "web.upload_part": E, "web.abandon_upload": E, "web.upload_to_library": E,
    "api.list_renditions": V, "api.request_rendition": E, "web.make_rendition": E,
}


def calls(app):
    """``(endpoint, method, url)`` of every route that needs signing in, ids filled with 1."""
    out = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if getattr(view, "is_public", False) or rule.endpoint.endswith("static"):
            continue
        url = re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule).replace("/channels/connect/1", "/channels/connect/facebook")
        out += [(rule.endpoint, method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return out


def ask(client, method, url):
    json_body = {} if method not in SAFE_METHODS and url.startswith("/api/") else None
    return client.open(url, method=method, json=json_body)


def test_the_table_names_every_route(app):
    endpoints = {endpoint for endpoint, _, _ in calls(app)}
    assert endpoints - set(ROLE_NEEDED) == set(), "routes without a role in the table"
    assert set(ROLE_NEEDED) - endpoints == set(), "roles for routes that do not exist"


@pytest.mark.parametrize("role", [V, E])
def test_a_weaker_role_is_refused_on_every_route_that_needs_more(app, member, role):
    client = member(role)
    weaker = {V: (E, A), E: (A,)}[role]
    refused = [(m, u) for endpoint, m, u in calls(app) if ROLE_NEEDED[endpoint] in weaker and endpoint != "metrics"]
    assert len(refused) >= (30 if role == V else 10)
    for method, url in refused:
        response = ask(client, method, url)
        assert response.status_code == 403, (role, method, url, response.status_code)
        if url.startswith("/api/"):
            error = response.get_json()["error"]
            assert error["code"] == "forbidden" and f"your role is {role}" in error["message"], (method, url)
        else:
            assert b"Not allowed" in response.data and f"your role is {role}".encode() in response.data.lower()


@pytest.mark.parametrize("role", [V, E, A])
def test_every_route_a_role_may_use_lets_it_through(app, member, role):
    client = member(role)
    rank = (V, E, A).index(role)
    for endpoint, method, url in calls(app):
        if (V, E, A).index(ROLE_NEEDED[endpoint]) > rank or endpoint in ("auth.sign_out", "metrics"):
            continue
        response = ask(client, method, url)
        assert response.status_code != 403, (role, method, url, response.get_data(as_text=True)[:200])


def test_a_page_refusal_says_which_role_is_needed_and_keeps_the_signed_in_menu(member):
    viewer = member(V, token=False)
    response = viewer.get("/compose")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "needs the editor role" in page and "ask an admin" in page
    assert "Sign out" in page


def test_an_api_token_acts_with_its_users_role(member, anon_client):
    viewer = member(V)
    headers = {"Authorization": f"Bearer {viewer.token}"}
    assert anon_client.get("/api/me", headers=headers).get_json()["role"] == V
    assert anon_client.get("/api/posts", headers=headers).status_code == 200
    refused = anon_client.post("/api/posts", json={"text": "no"}, headers=headers)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"


def test_the_menu_shows_what_the_role_may_use(member):
    pages = {role: member(role, token=False).get("/posts").get_data(as_text=True) for role in (V, E, A)}
    assert "New post" not in pages[V] and "New post" in pages[E]
    assert 'href="/team"' not in pages[E] and 'href="/team"' in pages[A]
