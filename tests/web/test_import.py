"""Posts imported from a CSV file: a file with one bad line writes nothing
and names every problem by its line; a good file of 500 lines is imported in
one transaction; the file's own shape is checked first."""
import io
import time

from socialpub import db
from socialpub.models import Post, Publication

from tests.support.web_helpers import page
from tests.web.test_editing import iso_in


def send(client, text, **form):
    return client.post("/api/posts/import", data={"file": (io.BytesIO(text.encode()), "posts.csv"), **form},
                       content_type="multipart/form-data")


def count_posts():
    with db.database.connection_context():
        return Post.select().count(), Publication.select().count()


def test_a_good_file_of_500_lines_is_imported_in_one_go(client, sandbox_channels):
    at = iso_in(120)
    lines = ["text,networks,scheduled_at,timezone"] + [
        f'"Post {i}, from the sheet",facebook;linkedin,{at if i % 2 else ""},' for i in range(500)]
    started = time.perf_counter()
    response = send(client, "\n".join(lines))
    elapsed = time.perf_counter() - started
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["created"] == 500
    assert count_posts() == (500, 1000)
    with db.database.connection_context():
        assert Post.select().where(Post.status == "scheduled").count() == 250
    print(f"\n500-line CSV imported in {elapsed * 1000:.0f} ms")


def test_one_bad_line_writes_nothing_and_every_problem_is_named(client, sandbox_channels):
    csv = "\n".join(["text,networks,scheduled_at", "Fine,facebook,", "Also fine,linkedin,",
                     ",facebook,", "Elsewhere,myspace,", "Late,facebook,2020-01-01T09:00:00Z"])
    response = send(client, csv)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "import_refused" and "3 of 5 lines cannot be imported, so none was" in error["message"]
    assert [(d["line"], d["field"]) for d in error["details"]] == [(4, "text"), (5, "networks"), (6, "scheduled_at")]
    assert count_posts() == (0, 0)


def test_the_files_shape_is_checked_first(client, sandbox_channels):
    assert "first line must name the columns" in send(client, "hello,world\n").get_json()["error"]["message"]
    unknown = send(client, "text,colour\nHi,blue\n").get_json()["error"]["message"]
    assert "unknown column 'colour'" in unknown
    assert "not UTF-8" in client.post("/api/posts/import", data={"file": (io.BytesIO(b"text\n\xff\xfe"), "x.csv")},
                                      content_type="multipart/form-data").get_json()["error"]["message"]
    assert "more cells than columns" in send(client, "text\nA,B\n").get_json()["error"]["message"]
    assert send(client, "text\n").get_json()["error"]["field"] == "file"
    assert client.post("/api/posts/import", json={}).status_code == 415


def test_times_without_an_offset_are_in_the_given_zone(client, sandbox_channels):
    response = send(client, "text,networks,scheduled_at\nMorning,facebook,2027-06-01T09:00\n",
                    timezone="Europe/Madrid")
    assert response.status_code == 201, response.get_json()
    post = client.get(f"/api/posts/{response.get_json()['ids'][0]}").get_json()
    assert post["scheduled_at"] == "2027-06-01T09:00:00+02:00" and post["timezone"] == "Europe/Madrid"


def test_the_import_page_lists_the_problems_and_imports_a_good_file(form_client, sandbox_channels):
    bad = form_client.post("/posts/import", data={"file": (io.BytesIO(b"text,networks\n,facebook\n"), "a.csv")},
                           content_type="multipart/form-data")
    assert bad.status_code == 422 and "line 2:" in page(bad)
    good = form_client.post("/posts/import", data={"file": (io.BytesIO(b"text,networks\nHello,facebook\n"), "b.csv")},
                            content_type="multipart/form-data", follow_redirects=True)
    assert "Imported 1 post." in page(good)


def test_a_header_cell_longer_than_the_csv_modules_limit_is_refused_naming_the_file_on_both_imports(
        client, sandbox_channels):
    huge = "text," + "x" * 131_073 + "\nHello\n"  # one field past csv.field_size_limit()
    posts = send(client, huge)
    assert posts.status_code == 400 and posts.get_json()["error"]["field"] == "file", posts.get_json()
    contacts = client.post(f"/api/channels/{sandbox_channels['whatsapp']}/contacts/import",
                           data={"file": (io.BytesIO(huge.replace("text", "phone").encode()), "contacts.csv")},
                           content_type="multipart/form-data")
    assert contacts.status_code == 400 and contacts.get_json()["error"]["field"] == "file", contacts.get_json()
    assert "line 1" in contacts.get_json()["error"]["message"]
    assert count_posts() == (0, 0)
