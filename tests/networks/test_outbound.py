"""The SSRF guard of image downloads, over real sockets: what it refuses, what
it lets through, and its size and time limits; then a LinkedIn publication
whose image is on a refused address, end to end.
"""
import http.server
import re
import socket
import threading
import time

import pytest
from dramatiq.middleware import TimeLimit

from socialpub import db
from socialpub.intake.channels import create_channel
from socialpub.media import remote
from socialpub.models import Attempt, ImageFetch, Publication
from socialpub.networks import ErrorKind, PublishError, outbound
from socialpub.networks.base import Timeouts
from socialpub.networks.outbound import download

from tests.support.slow_server import Trickler, response, self_signed

#: Small limits, so that the tests that hit them are quick.
MAX_BYTES = 1000
TIME_LIMIT = 0.5
#: Per-read timeouts far above TIME_LIMIT: only the total limit can stop a drip.
TIMEOUTS = Timeouts(connect=5, read=5)
IMAGE = b"\x89PNG not really, but bytes"


class Server(http.server.ThreadingHTTPServer):
    """An HTTP server on ``host`` answering every GET with ``answer(handler)``;
    ``requests`` lists the paths it was asked for."""

    daemon_threads = True

    def __init__(self, host, answer, port=0):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.answer, self.requests, self.stopping = answer, [], threading.Event()
        super().__init__((host, port), Handler)
        self.host, self.port = host, self.server_address[1]
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self):
        self.stopping.set()  # ends a dripping answer
        self.shutdown()
        self.server_close()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        try:
            self.server.answer(self)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up: expected here
            pass

    def log_message(self, *args):
        pass


def image(handler):
    handler.send_response(200)
    handler.send_header("Content-Type", "image/png")
    handler.send_header("Content-Length", str(len(IMAGE)))
    handler.end_headers()
    handler.wfile.write(IMAGE)


def redirect_to(location):
    def answer(handler):
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
    return answer


@pytest.fixture
def serve():
    """Start a :class:`Server` (``serve(answer, host="127.0.0.1")``); all are stopped after the test."""
    servers = []

    def serve(answer, host="127.0.0.1", port=0):
        servers.append(Server(host, answer, port))
        return servers[-1]

    yield serve
    for server in servers:
        server.stop()


def fetch(url, allow=(), **limits):
    limits = {"max_bytes": MAX_BYTES, "time_limit": TIME_LIMIT, "timeouts": TIMEOUTS, **limits}
    return download("linkedin", url, allow=allow, **limits)


def refusal(url, allow=()) -> PublishError:
    with pytest.raises(PublishError) as caught:
        fetch(url, allow)
    assert caught.value.kind is ErrorKind.PERMANENT, caught.value
    assert not caught.value.ambiguous
    return caught.value


def ipv6_loopback_works() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


# -- refused ------------------------------------------------------------------------------------

@pytest.mark.parametrize("host, reason", [
    ("127.0.0.1", "refused, 127.0.0.1 is a loopback address"),
    ("[::ffff:127.0.0.1]", "refused, ::ffff:127.0.0.1 (127.0.0.1) is a loopback address"),
    ("localhost", "refused, localhost resolves to 127.0.0.1, a loopback address"),
], ids=["ipv4", "ipv4-mapped-ipv6", "dns-name"])
def test_loopback_is_refused_and_the_server_listening_there_gets_no_connection(serve, host, reason):
    listening = serve(image)
    error = refusal(f"http://{host}:{listening.port}/image.png")
    assert error.message == reason
    assert listening.requests == []


@pytest.mark.skipif(not ipv6_loopback_works(), reason="no IPv6 loopback here")
def test_ipv6_loopback_is_refused_and_the_server_listening_there_gets_no_connection(serve):
    listening = serve(image, host="::1")
    error = refusal(f"{listening.url}/image.png")
    assert error.message == "refused, ::1 is a loopback address"
    assert listening.requests == []


@pytest.mark.parametrize("address, kind", [
    ("10.0.0.5", "a private address"),
    ("172.16.0.1", "a private address"),
    ("172.31.255.254", "a private address"),
    ("192.168.1.1", "a private address"),
    ("169.254.169.254", "a link-local address"),  # the cloud metadata service
    ("100.64.0.1", "a shared (carrier-grade NAT) address"),
    ("0.0.0.0", "the unspecified address"),
    ("224.0.0.1", "a multicast address"),
    ("240.0.0.1", "a reserved address"),
    ("[fe80::1]", "a link-local address"),
    ("[fd00::1]", "a private address"),
    ("[::]", "the unspecified address"),
])
def test_private_link_local_and_other_non_public_addresses_are_refused_naming_why(address, kind):
    error = refusal(f"http://{address}/x.png")
    assert error.message == f"refused, {address.strip('[]')} is {kind}"


@pytest.mark.parametrize("url, scheme", [
    ("file:///etc/passwd", "file"),
    ("ftp://127.0.0.1/image.png", "ftp"),
    ("gopher://127.0.0.1:6379/_INFO", "gopher"),
    ("/relative/image.png", "a relative URL"),
])
def test_schemes_other_than_http_and_https_are_refused(url, scheme):
    error = refusal(url, allow=("127.0.0.1/32",))
    assert error.message == f"refused, only http and https URLs are fetched, not {scheme}"


def test_a_redirect_to_a_refused_address_is_refused_and_that_address_gets_no_request(serve):
    inside = serve(image, host="127.0.0.1")
    redirector = serve(redirect_to(f"{inside.url}/secret"), host="127.0.0.2")
    error = refusal(f"{redirector.url}/image.png", allow=("127.0.0.2/32",))
    assert error.message == (f"refused, redirected to {inside.url}/secret, where 127.0.0.1 is "
                             "a loopback address")
    assert redirector.requests == ["/image.png"]
    assert inside.requests == []


def test_a_redirect_to_another_scheme_is_refused(serve):
    redirector = serve(redirect_to("file:///etc/passwd"))
    error = refusal(f"{redirector.url}/image.png", allow=("127.0.0.1/32",))
    assert error.message == ("refused, redirected to file:///etc/passwd, where only http and https "
                             "URLs are fetched, not file")


def test_a_name_answered_differently_after_the_check_is_still_fetched_from_the_checked_address(
        serve, monkeypatch):
    # DNS rebinding: the first answer passes the check, a later one points inside.
    checked = serve(image, host="127.0.0.2")
    try:
        inside = serve(image, host="127.0.0.1", port=checked.port)
    except OSError:
        pytest.skip(f"port {checked.port} is taken on 127.0.0.1")
    real_getaddrinfo, answers = socket.getaddrinfo, []

    def rebinding_dns(host, port, *args, **kwargs):
        if host != "rebind.test":
            return real_getaddrinfo(host, port, *args, **kwargs)
        answers.append("127.0.0.2" if not answers else "127.0.0.1")
        return real_getaddrinfo(answers[-1], port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_dns)
    assert fetch(f"http://rebind.test:{checked.port}/image.png", allow=("127.0.0.2/32",)) == IMAGE
    assert answers == ["127.0.0.2"]  # the name was resolved once
    assert (checked.requests, inside.requests) == (["/image.png"], [])


# -- allowed, within limits ---------------------------------------------------------------------

def test_an_allowed_address_is_downloaded(serve):
    server = serve(image)
    assert fetch(f"{server.url}/image.png", allow=("127.0.0.1/32",)) == IMAGE
    assert server.requests == ["/image.png"]


def test_an_allowed_address_and_port_allows_that_port_alone(serve):
    # What 'socialpub up' allows for its sandbox: not the Redis or the web app beside it.
    allowed, neighbour = serve(image), serve(image)
    assert fetch(f"{allowed.url}/image.png", allow=(f"127.0.0.1:{allowed.port}",)) == IMAGE
    error = refusal(f"{neighbour.url}/image.png", allow=(f"127.0.0.1:{allowed.port}",))
    assert error.message == "refused, 127.0.0.1 is a loopback address"
    assert neighbour.requests == []


@pytest.mark.parametrize("entry", ["127.0.0.1:0", "127.0.0.1:70000", "[::1]", "[::1]x", "host:80", "10.0.0.0/33"])
def test_an_allowed_entry_that_is_neither_a_network_nor_an_address_and_port_stops_start_up(entry):
    from socialpub.config import parse_networks

    with pytest.raises(SystemExit, match="SOCIALPUB_OUTBOUND_ALLOW"):
        parse_networks(entry)


def test_redirects_between_allowed_addresses_are_followed_three_times_at_most(serve):
    def countdown(handler):
        left = int(handler.path.strip("/"))
        if left:
            redirect_to(f"/{left - 1}")(handler)
        else:
            image(handler)

    server = serve(countdown)
    assert fetch(f"{server.url}/3", allow=("127.0.0.1/32",)) == IMAGE
    server.requests.clear()
    error = refusal(f"{server.url}/4", allow=("127.0.0.1/32",))
    assert error.message == "refused, more than 3 redirects"
    assert server.requests == ["/4", "/3", "/2", "/1"]


def test_a_body_declared_larger_than_the_limit_is_refused_without_reading_it(serve):
    def huge(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(10 ** 12))
        handler.end_headers()
        handler.wfile.write(b"x" * 10)  # read further, this would be an incomplete body instead

    server = serve(huge)
    error = refusal(f"{server.url}/image.png", allow=("127.0.0.1/32",))
    assert error.message == f"{10 ** 12} bytes, more than the {MAX_BYTES} allowed"


def test_a_body_without_content_length_is_cut_off_past_the_limit(serve):
    def undeclared(handler):
        handler.send_response(200)  # HTTP/1.0 without Content-Length: the body ends with the connection
        handler.end_headers()
        handler.wfile.write(b"x" * (MAX_BYTES + 1))

    server = serve(undeclared)
    error = refusal(f"{server.url}/image.png", allow=("127.0.0.1/32",))
    assert error.message == f"more than the {MAX_BYTES} bytes allowed"


def drip(handler, first_bytes):
    """Send ``first_bytes``, then one byte every 50 ms until the client or the test gives up."""
    handler.wfile.write(first_bytes)
    while not handler.server.stopping.wait(0.05):
        handler.wfile.write(b"x")
        handler.wfile.flush()


@pytest.mark.timeout(10)  # without the total limit, the drip would go on until then
@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_server_dripping_its_answer_is_cut_off_at_the_total_time_limit(serve, part):
    start = b"HTTP/1.0 200 OK\r\nX-Drip: " if part == "headers" else \
        b"HTTP/1.0 200 OK\r\nContent-Length: 999\r\n\r\n"
    server = serve(lambda handler: drip(handler, start))
    began = time.monotonic()
    with pytest.raises(PublishError) as caught:
        fetch(f"{server.url}/image.png", allow=("127.0.0.1/32",))
    took = time.monotonic() - began
    assert (caught.value.kind, caught.value.message) == (
        ErrorKind.TRANSIENT, f"not downloaded within the {TIME_LIMIT:g} s allowed")
    assert TIME_LIMIT <= took < TIME_LIMIT + 2, took  # bounded by the limit, not by the 5 s read timeout


# -- end to end ---------------------------------------------------------------------------------

def test_a_linkedin_image_on_a_refused_address_is_found_when_composed_and_never_fetched_nor_sent(
        client, form_client, sandbox_channels, sandbox_client, drain, serve):
    # The test settings allow only the sandbox (127.0.0.1/32); 127.0.0.3 is loopback like it.
    image_host = serve(image, host="127.0.0.3")
    image_url = f"{image_host.url}/cat.png"
    response = client.post("/api/posts", json={"text": "Look", "image_url": image_url,
                                               "networks": ["linkedin"]})
    assert response.status_code == 201, response.get_json()
    post_id = response.get_json()["id"]
    drain()  # the fetch asked for when the post was stored
    with db.database.connection_context():
        assert "the photo: refused, 127.0.0.3 is a loopback address" in ImageFetch.get_by_id(post_id).error

    shown = form_client.get(f"/posts/{post_id}").get_data(as_text=True)  # on the post's page, with its fix
    assert "private network that socialpub does not fetch from" in shown
    assert re.search(r'data-fix="edit_photo" href="/posts/%d/edit">Edit the photo' % post_id, shown)

    refused = client.post(f"/api/posts/{post_id}/publish")
    assert refused.status_code == 409 and refused.get_json()["error"]["field"] == "image_url"
    assert "private network that socialpub does not fetch from" in refused.get_json()["error"]["message"]
    drain()  # fetched again meanwhile (the site may have been away): refused again
    [publication] = client.get(f"/api/posts/{post_id}/status").get_json()["publications"]
    assert publication["status"] == "pending"
    with db.database.connection_context():
        assert Attempt.select().join(Publication).where(Publication.post == post_id).count() == 0
    assert image_host.requests == []
    assert [r for r in sandbox_client.requests(everything=True) if r["network"] == "linkedin"] == []


@pytest.mark.timeout(10)
def test_an_https_server_dripping_its_answer_is_cut_off_at_the_total_time_limit_too(tmp_path, monkeypatch):
    # TLS detaches the socket the deadline watched: the cut-off once missed HTTPS and took the whole drip.
    tls, certificate = self_signed(tmp_path)
    slow = Trickler(response(body=b"x" * 100, content_type="image/png"), pause=0.05, tls=tls)  # about 8 s
    made = outbound._session

    def trusting(guard, deadline):  # the test's certificate, instead of the system's trust store
        session = made(guard, deadline)
        session.verify = certificate
        return session

    monkeypatch.setattr(outbound, "_session", trusting)
    began = time.monotonic()
    try:
        with pytest.raises(PublishError) as caught:
            fetch(f"{slow.url}/image.png", allow=("127.0.0.1/32",))
        took = time.monotonic() - began
    finally:
        slow.close()
    assert caught.value.message == f"not downloaded within the {TIME_LIMIT:g} s allowed"
    assert TIME_LIMIT <= took < TIME_LIMIT + 1, took


def test_a_slow_image_host_makes_the_fetch_give_up_before_its_claim_lease(app, settings, client, sandbox_channels):
    # An attempt of 3 s gives the download 1 s and the claim a 1.25 s lease (60 s and 75 s by default).
    settings = settings.with_(time_limit_s=3, processing_lease_s=4)
    slow = Trickler(response(body=b"\x89PNG" + b"x" * 60, content_type="image/png"), pause=0.05)
    post_id = client.post("/api/posts", json={"text": "A slow picture", "networks": ["linkedin"]}).get_json()["id"]
    try:
        with db.database.connection_context(), pytest.raises(PublishError) as caught:
            began = time.monotonic()
            try:
                remote.fetched(settings, post_id, f"{slow.url}/cat.png", "linkedin")
            finally:
                took = time.monotonic() - began
    finally:
        slow.close()
    assert caught.value.kind == ErrorKind.TRANSIENT and "not downloaded within the 1 s allowed" in caught.value.message
    assert took < remote.claim_lease(settings), took  # no second worker took the fetch over meanwhile
    with db.database.connection_context():
        # Given up: the claim keeps why (shown to a reviewer), and the next try takes it over and fetches.
        [claim] = ImageFetch.select().where(ImageFetch.post == post_id)
        assert claim.media_id is None and "not downloaded within the 1 s allowed" in claim.error
    assert len(slow.requests) == 1


@pytest.mark.timeout(30)
@pytest.mark.settings(time_limit_s=2, processing_lease_s=3, read_timeout=5, max_retries=0)
def test_a_network_answering_a_byte_every_few_seconds_cannot_keep_an_attempt_past_its_lease(
        app, client, settings, broker, drain):
    # What the dramatiq command does at start-up, and an in-process worker does not: Dramatiq's time limit runs.
    [limit] = [m for m in broker.middleware if isinstance(m, TimeLimit)]
    limit.after_process_boot(broker)
    # A byte every 4 s: each read well within the 5 s read timeout, the attempt's 2 s long gone after the first.
    slow = Trickler(response(body=b'{"id": "1_2"}', content_type="application/json"), pause=4)
    with db.database.connection_context():
        channel = create_channel({"network": "facebook", "name": "Slow Page", "account_id": "546349135390552",
                                  "token": "slow-page-token", "base_url": f"{slow.url}/v25.0"})
    post_id = client.post("/api/posts", json={"text": "Slowly answered", "channels": [channel.id],
                                              "publish": True}).get_json()["id"]
    try:
        drain()
    finally:
        slow.close()
    with db.database.connection_context():
        [attempt] = Attempt.select().join(Publication).where(Publication.post == post_id)
    took = (attempt.finished_at - attempt.started_at).total_seconds()
    assert took < settings.processing_lease_s, took  # ended while its claim was still its own
    assert attempt.outcome == "unconfirmed" and "no answer within" in attempt.error
    assert len(slow.requests) == 1
