"""Every failure a person can meet reads in plain words, with who caused it and
the fix (networks/explain.py): each network's classified errors, socialpub's
own findings (a photo that cannot be fetched, no answer, a lost token, a time
missed, an outcome it cannot check, a retired API version) and the 5xx pages.
The walk fails on any message that shows a Python exception's name, a
host:port, an Errno or a stack, as the post page and the API show it."""
import html as html_text
import re
import socket
import ssl

import pytest
import requests
from urllib3 import exceptions as urllib3_errors

from socialpub import db
from socialpub.media import images, remote
from socialpub.models import Channel, ChannelState, Post, Publication
from socialpub.networks import error_table, explain
from socialpub.networks.base import ErrorKind, PublishError, Timeouts
from socialpub.networks.outbound import download
from socialpub.networks.transport import transport_error
from socialpub.web import serialize

from tests.networks.test_outbound import IMAGE, serve  # noqa: F401 (serve is a fixture)

#: What a person must never read: an exception's name, a stack, a host:port, an Errno.
MACHINE = re.compile(r"\b\w+Error\b|Exception|Traceback|\bFile \"|\bErrno\b|"
                     r"\b(?:localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+):\d{1,5}\b", re.IGNORECASE)
FIXES = {None, *(getattr(explain, name) for name in ("RECONNECT", "EDIT_PHOTO", "EDIT", "RETRY", "WAIT", "CHECK",
                                                     "CHANNEL"))}
META = ("facebook", "instagram", "whatsapp")


def plain(text):
    assert text and not MACHINE.search(text), text
    return text


def network_rows():
    """Every classified code of error_table, as a stored (network, code, message)."""
    for row in error_table.GRAPH:
        for network in ([row.network] if row.network else META):
            code = f"{row.code}/{row.subcode}" if row.subcode else str(row.code)
            yield network, code, f"(#{row.code}) {row.meaning}"
    for row in error_table.LINKEDIN:
        yield "linkedin", str(row.code), f"{row.words or ''} {row.meaning}"


def chain(*causes):
    """A requests error wrapping ``causes`` the way urllib3 does (outermost first)."""
    inner = None
    for cause in reversed(causes):
        if inner is not None:
            cause.__cause__ = inner
        inner = cause
    return requests.ConnectionError(urllib3_errors.MaxRetryError(None, "/x.jpg", inner))


def unresolved():
    return chain(urllib3_errors.NameResolutionError("img.example", None, socket.gaierror(
        socket.EAI_NONAME, "Name or service not known")), socket.gaierror(socket.EAI_NONAME, "Name or service not known"))


#: socialpub's own failures, as the code that finds them writes them: (status, error, what the fix must be).
def own_failures():
    timeouts = Timeouts(connect=3, read=10)
    for exc in (unresolved(), chain(ConnectionRefusedError(111, "Connection refused")),
                chain(ssl.SSLCertVerificationError(1, "certificate verify failed")),
                requests.ConnectTimeout("HTTPSConnectionPool(host='graph.example', port=443): connect timeout"),
                requests.ReadTimeout("HTTPSConnectionPool(host='graph.example', port=443): Read timed out."),
                requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead(0 bytes read)"),
                requests.exceptions.InvalidURL("Failed to parse: http://[::1:80")):
        error = transport_error("facebook", exc, timeouts)
        yield "retrying", error, explain.WAIT
        yield "failed", error, explain.RETRY
    photo = [PublishError("linkedin", "download failed with HTTP 404", kind=ErrorKind.PERMANENT,
                          code=explain.IMAGE, subcode="missing"),
             PublishError("linkedin", "download failed with HTTP 403", kind=ErrorKind.PERMANENT,
                          code=explain.IMAGE, subcode="denied"),
             PublishError("linkedin", "refused, 10.0.0.7 is a private address", kind=ErrorKind.PERMANENT,
                          code=explain.IMAGE, subcode="refused"),
             PublishError("linkedin", "not downloaded within the 20 s allowed", kind=ErrorKind.TRANSIENT,
                          code=explain.IMAGE, subcode="unreachable"),
             images.ImageRefused(415, "not an image socialpub takes (JPEG, PNG, WebP or GIF)"),
             images.ImageRefused(503, "too many photos are being read at once; try again")]
    for exc in photo:
        error = remote._explained("linkedin", "http://img.example:8080/cat.png", exc)
        yield "failed", error, explain.RETRY if error.subcode == "busy" else explain.EDIT_PHOTO
    yield "failed", remote._explained("linkedin", "http://img.example:8080/c.png", remote.StorageError(
        "Could not connect to the endpoint URL: http://minio:9000/media")), explain.RETRY
    yield "failed", PublishError("linkedin", "Not sent: LinkedIn stopped serving version 202401 on 2025-01-15; "
                                 "set LINKEDIN_API_VERSION to a current one", kind=ErrorKind.PERMANENT,
                                 code="version"), explain.CHANNEL
    yield "failed", PublishError("facebook", "socialpub met an unexpected problem (it is in the worker's log)",
                                 kind=ErrorKind.TRANSIENT, code=explain.INTERNAL), explain.RETRY
    yield "expired", PublishError("facebook", "missed its scheduled time by 25 min (SCHEDULE_MAX_LATENESS_S is "
                                  "900 s); not sent", kind=ErrorKind.PERMANENT), explain.RETRY
    yield "unconfirmed", PublishError("whatsapp", "sent to 2 of 3; Meta did not say whether the others got it",
                                      kind=ErrorKind.PERMANENT), explain.CHECK


def publication(network, status, code, message):
    return Publication(id=1, channel=1, network=network, status=status, last_error=message, last_error_code=code)


@pytest.mark.parametrize("network,code,message", list(network_rows()))
def test_every_classified_network_error_has_a_plain_sentence_who_and_a_fix(network, code, message):
    for status in ("retrying", "failed"):
        failure = serialize.failure(publication(network, status, code, message))
        plain(failure["sentence"])
        assert failure["said_by"] == "network" and failure["who"] in explain.WHO and failure["fix"] in FIXES
        if status == "failed" and failure["who"] != "account":
            assert failure["fix"] is not None, (network, code)


@pytest.mark.parametrize("status,error,fix", list(own_failures()),
                         ids=lambda v: getattr(v, "error_code", None) or str(v))
def test_socialpubs_own_failures_read_plain_in_its_own_name_with_their_fix(status, error, fix):
    failure = serialize.failure(publication(error.network, status, error.error_code, error.message))
    plain(failure["sentence"])
    plain(error.message)  # shown below, as socialpub's details: never a machine's words either
    assert failure["said_by"] == "socialpub" and failure["who"] in explain.WHO
    assert failure["fix"] == fix


def test_a_lost_token_offers_reconnect_whatever_the_error_was():
    lost = publication("facebook", "failed", "190/463", "Error validating access token: Session has expired")
    failure = serialize.failure(lost, needs_reauth=True)
    assert (failure["who"], failure["fix"], failure["said_by"]) == ("account", "reconnect", "network")
    plain(failure["sentence"])


def test_an_unresolvable_photo_address_is_permanent_and_said_in_plain_words(monkeypatch):
    def nowhere(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", nowhere)
    with pytest.raises(PublishError) as caught:
        download("facebook", "https://img.example:8443/cat.jpg", max_bytes=1000, time_limit=5)
    assert (caught.value.kind, caught.value.error_code) == (ErrorKind.PERMANENT, "image/unresolved")
    plain(caught.value.message)


def test_a_resolver_that_fails_is_not_a_name_that_does_not_exist(monkeypatch):
    def away(*args, **kwargs):
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", away)
    with pytest.raises(PublishError) as caught:
        download("facebook", "https://img.example/cat.jpg", max_bytes=1000, time_limit=5)
    assert (caught.value.kind, caught.value.error_code) == (ErrorKind.TRANSIENT, "image/unreachable")


def test_a_missing_photo_is_permanent(serve):
    def missing(handler):
        handler.send_response(404)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    server = serve(missing)
    with pytest.raises(PublishError) as caught:
        download("facebook", f"{server.url}/gone.png", max_bytes=1000, time_limit=5, allow=("127.0.0.1/32",))
    assert (caught.value.kind, caught.value.error_code) == (ErrorKind.PERMANENT, "image/missing")


@pytest.mark.parametrize("status,error,fix", [f for f in own_failures() if f[0] != "retrying"][:12:3]
                         + [("failed", PublishError("linkedin", "Unable to find member urn:li:person:x",
                                                    kind=ErrorKind.PERMANENT, code="404"), "edit")],
                         ids=lambda v: getattr(v, "error_code", None) or str(v))
def test_the_post_page_and_the_status_api_show_the_sentence_who_and_the_fix(
        form_client, client, sandbox_channels, status, error, fix):
    with db.database.connection_context():
        post = Post.create(text="Hello", status="failed")
        pub = Publication.create(post=post.id, channel=sandbox_channels[error.network], network=error.network,
                                 text="Hello", status=status, last_error=error.message,
                                 last_error_code=error.error_code)
    html = form_client.get(f"/posts/{post.id}").get_data(as_text=True)
    card = html[html.index(f'id="pub-{pub.id}"'):]
    card = html_text.unescape(card[:card.index("</article>")])
    failure = client.get(f"/api/posts/{post.id}/status").get_json()["publications"][0]["failure"]
    assert failure["sentence"] in card and failure["who_label"] in card
    said = re.search(r'data-field="said-by">([^<]*)<', card).group(1)
    label = {"facebook": "Facebook", "linkedin": "LinkedIn", "whatsapp": "WhatsApp"}[error.network]
    assert said == (f"{label} said:" if error.error_code == "404" else "socialpub's details:")
    shown = [m.group(1) for m in re.finditer(r'data-fix="(\w+)"[^>]*>', card)
             if " hidden" not in m.group(0)]
    assert shown == ([fix] if fix in ("reconnect", "edit_photo", "channel") else [])
    if fix in ("retry", "check", "edit"):
        assert re.search(r'class="retry-form"(?! hidden)', card)
    plain(re.sub(r"<[^>]+>", " ", card[:card.index('data-field="last_error"')]))


def test_the_progress_bar_is_never_green_for_a_failure(form_client, sandbox_channels):
    with db.database.connection_context():
        post = Post.create(text="Hello", status="failed")
        Publication.create(post=post.id, channel=sandbox_channels["facebook"], network="facebook", text="Hello",
                           status="failed", last_error="x", last_error_code="368")
    html = form_client.get(f"/posts/{post.id}").get_data(as_text=True)
    assert '<span class="progress-ok" style="width: 0%">' in html
    assert '<span class="progress-bad" style="width: 100%">' in html


def test_a_channel_needing_reauthorisation_offers_reconnect_not_retry(form_client, client, sandbox_channels):
    with db.database.connection_context():
        post = Post.create(text="Hello", status="failed")
        pub = Publication.create(post=post.id, channel=sandbox_channels["facebook"], network="facebook",
                                 text="Hello", status="failed", last_error="Session has expired",
                                 last_error_code="190/463")
        Channel.update(state=ChannelState.NEEDS_REAUTH).where(Channel.id == pub.channel_id).execute()
    [status] = client.get(f"/api/posts/{post.id}/status").get_json()["publications"]
    assert status["channel_needs_reauth"] and status["failure"]["fix"] == "reconnect"
    html = form_client.get(f"/posts/{post.id}").get_data(as_text=True)
    assert re.search(r'data-fix="reconnect"(?! hidden)[^>]*>(Reconnect|Update the token of)', html)
    assert re.search(r'class="retry-form" hidden', html)


def test_a_server_error_is_a_page_and_a_json_answer_in_plain_words_with_a_reference(app, form_client, client):
    def broken(*args, **kwargs):
        raise OSError(111, "[Errno 111] Connection refused to db.internal:5432")

    app.view_functions["web.posts"] = broken
    app.view_functions["api.list_posts"] = broken
    response = form_client.get("/posts")
    page = response.get_data(as_text=True)
    assert response.status_code == 500 and "Internal Server Error" not in page
    assert "Something went wrong on our side" in page and "tell your admin" in page
    reference = re.search(r"reference: (\w+)", page).group(1)
    plain(re.sub(r"<[^>]+>", " ", page[page.index("<main") if "<main" in page else 0:]))
    answer = client.get("/api/posts")
    error = answer.get_json()["error"]
    assert answer.status_code == 500 and error["code"] == "internal_error" and error["reference"] != reference
    assert error["reference"] in plain(error["message"])


def test_a_5xx_page_never_reads_internal_server_error_alone(app, form_client):
    from werkzeug.exceptions import InternalServerError

    def aborts(*args, **kwargs):
        raise InternalServerError()

    app.view_functions["web.posts"] = aborts
    page = form_client.get("/posts").get_data(as_text=True)
    assert "Internal Server Error" not in page and "try again" in page
