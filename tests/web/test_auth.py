"""Who may publish: API tokens on every /api endpoint, sign-in for every page,
sign-in throttling, CSRF on the forms, safe cookies, and the account commands."""
from __future__ import annotations

import re

from click.testing import CliRunner
from flask.testing import FlaskClient

from socialpub import db
from socialpub.commands.cli import main
from socialpub.models import ApiToken, Post, User
from socialpub.people import accounts
from socialpub.web.auth.gate import SAFE_METHODS
from socialpub.worker.broker import redis_client

from tests.conftest import TEST_EMAIL, TEST_PASSWORD
from tests.support.web_helpers import csrf_token, page


def routes(app, prefix):
    """(method, url) of every route under ``prefix`` that is not public, ids filled with 1."""
    out = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if not rule.rule.startswith(prefix) or getattr(view, "is_public", False) or rule.endpoint.endswith("static"):
            continue
        url = re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)
        out += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return out


def api_call(client, method, url, **kwargs):
    return client.open(url, method=method, json={} if method not in SAFE_METHODS else None, **kwargs)


def test_every_api_endpoint_refuses_a_request_without_a_token(app, anon_client):
    calls = routes(app, "/api/")
    assert len(calls) >= 10
    for method, url in calls:
        response = api_call(anon_client, method, url)
        assert response.status_code == 401, (method, url, response.status_code)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.json["error"]["code"] == "unauthorized"
        assert "Bearer" in response.json["error"]["message"]


def test_a_revoked_an_unknown_or_a_malformed_token_is_refused_on_every_api_endpoint(app, anon_client, api_token):
    with db.database.connection_context():
        user = User.get(User.email == TEST_EMAIL)
        _, revoked = accounts.issue_token(user, "old")
        assert accounts.revoke_token(ApiToken.get(ApiToken.prefix == revoked[:10]).id)
    for header in (f"Bearer {revoked}", "Bearer sp_notarealtoken", f"Basic {api_token}", "Bearer", api_token):
        for method, url in routes(app, "/api/"):
            response = api_call(anon_client, method, url, headers={"Authorization": header})
            assert response.status_code == 401, (header, method, url)
    assert anon_client.get("/api/posts", headers={"Authorization": f"Bearer {api_token}"}).status_code == 200


def test_a_wrong_token_beside_a_signed_in_session_is_still_refused(client):
    response = client.get("/api/posts", headers={"Authorization": "Bearer sp_wrong"})
    assert response.status_code == 401


def test_a_disabled_users_tokens_stop_working(app, anon_client, api_token):
    headers = {"Authorization": f"Bearer {api_token}"}
    assert anon_client.get("/api/posts", headers=headers).status_code == 200
    with db.database.connection_context():
        User.update(disabled=True).where(User.email == TEST_EMAIL).execute()
    assert anon_client.get("/api/posts", headers=headers).status_code == 401


def test_tokens_are_stored_only_as_a_hash(app, api_token):
    with db.database.connection_context():
        rows = list(ApiToken.select().dicts())
    assert rows and all(api_token not in str(value) for row in rows for value in row.values())
    assert any(row["prefix"] == api_token[:10] for row in rows)


def test_every_page_sends_a_visitor_to_sign_in_and_back(app, anon_client):
    pages = [(m, u) for m, u in routes(app, "/") if not u.startswith("/api/") and u != "/metrics"]
    assert {("GET", "/"), ("GET", "/compose"), ("GET", "/channels"), ("GET", "/monitor"),
            ("GET", "/account")} <= set(pages)
    for method, url in pages:
        response = anon_client.open(url, method=method)
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/sign-in?next="), (method, url)
    assert anon_client.get("/monitor.json", headers={"Accept": "application/json"}).status_code == 401
    # Health and the sign-in page stay open.
    assert anon_client.get("/healthz").status_code == 200
    assert anon_client.get("/sign-in").status_code == 200


def sign_in(client, email=TEST_EMAIL, password=TEST_PASSWORD, next_url="/compose", **environ):
    token = csrf_token(page(client.get("/sign-in")))
    return client.post("/sign-in", data={"email": email, "password": password, "next": next_url,
                                         "csrf_token": token}, environ_base=environ)


def test_signing_in_opens_the_pages_and_signing_out_closes_them(app, anon_client):
    app.config["WTF_CSRF_ENABLED"] = True
    response = sign_in(anon_client, email=TEST_EMAIL.upper())
    assert response.status_code == 302 and response.headers["Location"] == "/compose"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert anon_client.get("/compose").status_code == 200
    # A signed-in session reads the API (the post page's script does) but cannot write to it.
    assert anon_client.get("/api/posts").status_code == 200
    assert anon_client.post("/api/posts", json={"text": "Cookie-borne"}).status_code == 401
    with db.database.connection_context():
        assert Post.select().count() == 0
    token = csrf_token(page(anon_client.get("/compose")))
    assert anon_client.post("/sign-out", data={"csrf_token": token}).status_code == 302
    assert anon_client.get("/compose").status_code == 302


def test_a_wrong_password_or_unknown_email_shows_the_form_again_with_the_email_kept(app, anon_client):
    for email, password in ((TEST_EMAIL, "not the password"), ("nobody@example.com", TEST_PASSWORD)):
        response = sign_in(anon_client, email=email, password=password)
        assert response.status_code == 401
        html = page(response)
        assert "That email and password do not match." in html
        assert f'value="{email}"' in html
    assert anon_client.get("/compose").status_code == 302


def test_sign_in_refuses_a_form_without_its_csrf_token(app, anon_client):
    app.config["WTF_CSRF_ENABLED"] = True
    response = anon_client.post("/sign-in", data={"email": TEST_EMAIL, "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert anon_client.get("/compose").status_code == 302


def test_sign_in_only_returns_to_pages_of_this_site(app):
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        response = sign_in(FlaskClient(app, app.response_class, use_cookies=True), next_url=target)
        assert response.status_code == 302
        assert response.headers["Location"] == "/posts", target


def test_repeated_failures_lock_the_account_even_for_the_right_password(app, anon_client):
    for _ in range(5):
        assert sign_in(anon_client, password="guess guess guess").status_code == 401
    response = sign_in(anon_client)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in page(response)
    assert anon_client.get("/compose").status_code == 302


def test_one_address_guessing_many_accounts_is_stopped(app, anon_client):
    for i in range(20):
        assert sign_in(anon_client, email=f"user{i}@example.com", password="guess guess").status_code == 401
    assert sign_in(anon_client).status_code == 429
    # Another address is not affected.
    assert sign_in(anon_client, REMOTE_ADDR="127.0.0.9").status_code == 302


def test_the_session_cookie_is_secure_behind_a_tls_proxy(app, anon_client):
    from socialpub.web.app import create_app

    secure_app = create_app(app.extensions["socialpub"].with_(behind_proxy=True))
    secure_app.config["WTF_CSRF_ENABLED"] = False
    client = secure_app.test_client()
    response = client.post("/sign-in", data={"email": TEST_EMAIL, "password": TEST_PASSWORD},
                           headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]


def test_the_account_page_shows_a_new_token_once_and_revokes_it(app, anon_client):
    app.config["WTF_CSRF_ENABLED"] = False
    sign_in(anon_client)
    html = page(anon_client.post("/account/tokens", data={"name": "Zapier"}))
    plaintext = re.search(r'<code class="token-value" id="new-token-value">(sp_[\w-]+)</code>', html).group(1)
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert app.test_client().get("/api/posts", headers=headers).status_code == 200
    listing = page(anon_client.get("/account"))
    assert "Zapier" in listing and plaintext not in listing and plaintext[:10] in listing
    with db.database.connection_context():
        token_id = ApiToken.get(ApiToken.name == "Zapier").id
    anon_client.post(f"/account/tokens/{token_id}/revoke")
    assert app.test_client().get("/api/posts", headers=headers).status_code == 401
    assert "Revoked" in page(anon_client.get("/account"))


def test_a_nameless_token_is_refused_with_the_form_kept(app, anon_client):
    app.config["WTF_CSRF_ENABLED"] = False
    sign_in(anon_client)
    response = anon_client.post("/account/tokens", data={"name": "  "})
    assert response.status_code == 400
    assert "give the token a name" in page(response)
    with db.database.connection_context():
        assert ApiToken.select().count() == 1  # the fixture's own


def test_changing_the_password_signs_out_other_sessions(app, anon_client):
    app.config["WTF_CSRF_ENABLED"] = False
    other = FlaskClient(app, app.response_class, use_cookies=True)
    sign_in(anon_client)
    sign_in(other)
    response = anon_client.post("/account/password", data={
        "current_password": TEST_PASSWORD, "new_password": "a brand new passphrase",
        "confirm_password": "a brand new passphrase"})
    assert response.status_code == 302
    assert anon_client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302
    assert sign_in(other, password="a brand new passphrase").status_code == 302
    bad = anon_client.post("/account/password", data={
        "current_password": "wrong", "new_password": "x" * 12, "confirm_password": "x" * 12})
    assert bad.status_code == 400 and "not your current password" in page(bad)


def test_metrics_need_the_metrics_token_only_when_one_is_set(app, anon_client):
    assert anon_client.get("/metrics").status_code == 200
    app.extensions["socialpub"] = app.extensions["socialpub"].with_(metrics_token="scrape-secret")
    assert anon_client.get("/metrics").status_code == 401
    assert anon_client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert anon_client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"}).status_code == 200


def test_the_account_commands_create_a_user_and_a_token_and_revoke_it(app, anon_client, settings, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SOCIALPUB_INSTANCE", settings.instance_dir)
    runner = CliRunner()
    created = runner.invoke(main, ["create-user", "Ana@Example.com"])
    assert created.exit_code == 0, created.output
    password = re.search(r"Password: (\S+)", created.output).group(1)
    assert runner.invoke(main, ["create-user", "ana@example.com"]).exit_code == 1  # exists
    assert "must be an email" in runner.invoke(main, ["create-user", "not-an-email"]).output
    assert sign_in(anon_client, email="ana@example.com", password=password).status_code == 302

    made = runner.invoke(main, ["create-token", "ana@example.com", "--name", "deploys"])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert token.startswith("sp_")
    headers = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/channels", headers=headers).status_code == 200
    revoked = runner.invoke(main, ["revoke-token", "ana@example.com", token[:10]])
    assert revoked.exit_code == 0, revoked.output
    assert app.test_client().get("/api/channels", headers=headers).status_code == 401
    assert runner.invoke(main, ["create-token", "nobody@example.com"]).exit_code == 1


def test_the_embedded_default_creates_a_first_user_only_once_and_keeps_its_password_until_changed(
        app, settings, anon_client):
    from socialpub.people import first_user

    app.config["WTF_CSRF_ENABLED"] = False
    with db.database.connection_context():
        User.delete().execute()
        password = first_user.ensure(settings.instance_dir)
        assert password and accounts.authenticate("admin@localhost", password) is not None
        assert first_user.ensure(settings.instance_dir) is None
    kept = first_user.path(settings.instance_dir)
    assert first_user.password(settings.instance_dir) == password
    assert kept.stat().st_mode & 0o077 == 0  # this user's alone
    with db.database.connection_context():
        admin = User.get(User.email == "admin@localhost")
    with anon_client.session_transaction() as session:
        session.update({"user_id": admin.id, "v": admin.session_version})
    response = anon_client.post("/account/password", data={
        "current_password": password, "new_password": "a brand new long password",
        "confirm_password": "a brand new long password"})
    assert response.status_code == 302
    assert not kept.exists() and first_user.password(settings.instance_dir) is None


def test_signing_out_ends_the_session_even_for_a_copy_of_its_cookie(app, anon_client):
    app.config["WTF_CSRF_ENABLED"] = False
    sign_in(anon_client)
    copy = FlaskClient(app, app.response_class, use_cookies=True)
    cookie = anon_client.get_cookie("session")
    copy.set_cookie("session", cookie.value)
    assert copy.get("/account").status_code == 200
    anon_client.post("/sign-out")
    assert copy.get("/account").status_code == 302
    assert sign_in(anon_client).status_code == 302  # signing in again works


def test_parallel_guesses_get_no_more_tries_than_the_limit(app):
    from concurrent.futures import ThreadPoolExecutor

    from socialpub.people.throttle import SignInThrottle

    throttle = SignInThrottle(redis_client(app))
    with ThreadPoolExecutor(max_workers=20) as pool:
        waits = list(pool.map(lambda _: throttle.attempt(TEST_EMAIL, "127.0.0.5"), range(40)))
    assert waits.count(0) == throttle.limits.per_account
    assert all(0 < w <= throttle.limits.window_s for w in waits if w)


def test_guessing_the_current_password_on_the_account_page_is_throttled_too(app, anon_client):
    app.config["WTF_CSRF_ENABLED"] = False
    sign_in(anon_client)
    form = {"current_password": "guess guess", "new_password": "x" * 12, "confirm_password": "x" * 12}
    assert [anon_client.post("/account/password", data=form).status_code for _ in range(6)] == [400] * 5 + [429]
    right = dict(form, current_password=TEST_PASSWORD)
    assert anon_client.post("/account/password", data=right).status_code == 429
