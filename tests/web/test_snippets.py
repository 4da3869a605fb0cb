"""Snippets and hashtag groups: saved once with a variant per network, kept by editors, read by everyone,
each refused input naming its field and changing nothing."""
import pytest

from socialpub import db
from socialpub.models import Snippet

SIGNATURE = {"name": "Signature", "shortcut": "sig", "body": "— The Café Luna team",
             "variants": {"linkedin": "— The Café Luna team · cafeluna.example"}}


def test_an_editor_keeps_snippets_and_a_viewer_reads_them(member):
    editor, viewer = member("editor"), member("viewer")
    made = editor.post("/api/snippets", json=SIGNATURE)
    assert made.status_code == 201
    snippet = made.get_json()
    assert snippet["kind"] == "text" and snippet["variants"] == SIGNATURE["variants"]
    tags = editor.post("/api/snippets", json={"name": "Spring tags", "shortcut": "spring", "kind": "hashtags",
                                              "body": "#spring #menu #cafe"}).get_json()
    assert [s["shortcut"] for s in viewer.get("/api/snippets").get_json()["items"]] == ["sig", "spring"]
    assert viewer.post("/api/snippets", json=SIGNATURE).status_code == 403
    changed = editor.patch(f"/api/snippets/{tags['id']}", json={"body": "#spring #menu"})
    assert changed.status_code == 200 and changed.get_json()["body"] == "#spring #menu"
    assert editor.delete(f"/api/snippets/{tags['id']}").status_code == 204
    assert editor.delete(f"/api/snippets/{tags['id']}").status_code == 404
    trail = editor.get(f"/api/users/{editor.user_id}/events")
    assert trail.status_code in (200, 403)


@pytest.mark.parametrize("body, field, status", [
    ({**SIGNATURE, "shortcut": "Sig nature"}, "shortcut", 400),
    ({**SIGNATURE, "name": ""}, "name", 400),
    ({**SIGNATURE, "body": ""}, "body", 400),
    ({**SIGNATURE, "variants": {"myspace": "x"}}, "variants", 400),
    ({**SIGNATURE, "kind": "emoji"}, "kind", 400),
])
def test_a_bad_snippet_is_refused_naming_the_field_and_nothing_is_kept(client, body, field, status):
    response = client.post("/api/snippets", json=body)
    assert response.status_code == status and response.get_json()["error"]["field"] == field
    with db.database.connection_context():
        assert Snippet.select().count() == 0


def test_a_shortcut_is_one_snippets(client):
    assert client.post("/api/snippets", json=SIGNATURE).status_code == 201
    again = client.post("/api/snippets", json={**SIGNATURE, "name": "Other"})
    assert again.status_code == 409 and again.get_json()["error"]["field"] == "shortcut"


def test_the_snippets_page_adds_one_and_keeps_the_input_when_refused(form_client):
    refused = form_client.post("/snippets", data={"name": "Sig", "shortcut": "bad shortcut", "body": "Bye"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "lower-case letters" in page and 'value="Sig"' in page
    added = form_client.post("/snippets", data={"name": "Sig", "shortcut": "sig", "body": "Bye",
                                                "variant_instagram": "Bye #cafe"}, follow_redirects=True)
    assert "type /sig in the compose form" in added.get_data(as_text=True)
    with db.database.connection_context():
        assert Snippet.get().variants == {"instagram": "Bye #cafe"}
