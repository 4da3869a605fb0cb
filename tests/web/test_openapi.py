"""The OpenAPI document at /api/openapi.json: it lists exactly the app's API
routes, it is valid OpenAPI 3.1, and the app keeps to it when schemathesis
sends every operation generated requests, valid and invalid (on PostgreSQL,
where a type or range slip in the code shows first).

More examples than CI's: ``SCHEMATHESIS_MAX_EXAMPLES=300 make test PYTEST_ARGS=tests/web/test_openapi.py``,
or the ``schemathesis run`` command in the README against ``make run``.
"""
from __future__ import annotations

import json
import os
import re
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from socialpub import db
from socialpub.config import Settings
from socialpub.lifecycle import creating
from socialpub.models import Channel, Post, Publication, PublicationStatus
from socialpub.web.api.openapi import document

#: Generated per operation, besides the boundary cases; 13 operations × 30 take about 40 s.
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "30"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# A part of an upload in parts (tus) is raw bytes: schemathesis is told how to make some.
schemathesis.openapi.media_type("application/offset+octet-stream", st.binary(max_size=64))
#: Methods every route has without saying so.
IMPLICIT = {"HEAD", "OPTIONS"}


def api_routes(app) -> set:
    """``{(OpenAPI path, method)}`` of every route under /api."""
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            found |= {(path, method.lower()) for method in rule.methods - IMPLICIT}
    return found


def documented(document) -> set:
    return {(path, method) for path, item in document["paths"].items() for method in item}


def test_the_document_lists_every_api_route_and_method_and_nothing_else(app, anon_client):
    document = anon_client.get("/api/openapi.json").get_json()
    routes = api_routes(app)
    assert routes - documented(document) == set(), "routes missing from the document"
    assert documented(document) - routes == set(), "documented operations the app does not have"


def test_the_document_is_valid_openapi_and_needs_no_token(anon_client):
    response = anon_client.get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.get_json()
    validate(document)  # raises on anything that is not OpenAPI 3.1
    assert document["security"] == [{"bearerAuth": []}]
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "An API token, made on the account page."}


def test_the_document_states_the_limits_the_code_enforces(client, settings):
    schemas = client.get("/api/openapi.json").get_json()["components"]["schemas"]
    create = schemas["CreatePost"]["properties"]
    assert create["text"]["maxLength"] == 63_206
    channels = not_null(create["channels"])
    assert channels["maxItems"] == 50 and channels["items"]["maximum"] == 10**18 - 1
    assert not_null(schemas["CreateChannel"]["properties"]["base_url"])["maxLength"] == 300
    limits = schemas["CreatePost"]["x-network-limits"]
    assert limits["instagram"]["max_photos"] == 10 and limits["instagram"]["aspect_range"] == [0.8, 1.91]
    assert limits["whatsapp"]["sends_photos"] == 1 and limits["linkedin"]["max_photos"] == 20
    per_page = client.get("/api/openapi.json").get_json()["paths"]["/api/posts"]["get"]["parameters"][1]
    assert per_page["schema"]["maximum"] == settings.max_page_size


def not_null(schema: dict) -> dict:
    """The schema of a nullable field's value (``anyOf: [value, null]``)."""
    return next(option for option in schema["anyOf"] if option.get("type") != "null")


def test_every_documented_operation_but_the_document_answers_401_without_a_token(anon_client):
    document = anon_client.get("/api/openapi.json").get_json()
    for path, method in sorted(documented(document) - {("/api/openapi.json", "get")}):
        response = anon_client.open(path.replace("{post_id}", "1").replace("{publication_id}", "1")
                                    .replace("{channel_id}", "1"), method=method.upper(), json={})
        assert response.status_code == 401, (method, path)
        assert response.get_json()["error"]["field"] == "Authorization"


# ------------------------------------------------------------------ fuzzing
#
# schemathesis's fixture-based loading (``from_fixture``) breaks on pytest 9.2, so
# the schema is built from the same function the endpoint serves (a test above
# checks that they agree) and each case is sent to the test's app.

fuzzed = schemathesis.openapi.from_dict(document(Settings()))
#: Requests sent, by operation and status, for the line printed after the run (-s).
SENT = Counter()


@pytest.fixture(scope="module", autouse=True)
def report_what_was_sent():
    yield
    if SENT:
        statuses = Counter()
        for (_, status), n in SENT.items():
            statuses[status] += n
        print(f"\nschemathesis: {len({label for label, _ in SENT})} operations, {sum(SENT.values())} "
              f"requests, statuses {dict(sorted(statuses.items()))}")


def test_the_fuzzed_document_is_the_served_one(client):
    assert client.get("/api/openapi.json").get_json() == json.loads(json.dumps(document(Settings())))


@pytest.fixture
def seeded(app, sandbox_channels):
    """Something for each operation to find: a draft post (id 1) on the four sandbox
    channels (ids 1 to 4), its first publication failed, so it can be retried."""
    with db.database.connection_context():
        post = creating.create_post({"text": "Seeded for fuzzing", "image_url": "https://example.com/a.jpg"})
        first = Publication.select().where(Publication.post == post.id).order_by(Publication.id).first()
        Publication.update(status=PublicationStatus.FAILED).where(Publication.id == first.id).execute()
    return post.id


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@fuzzed.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,  # the same cases each run
          suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_to_the_document_whatever_it_is_sent(case, app, api_token, seeded):
    """No 5xx, only documented statuses, JSON that matches its schema, and a
    refusal writes nothing."""
    with db.database.connection_context():
        before = row_counts()
    # A new channel is checked with its network, which the fuzzer's channels
    # (Graph or LinkedIn themselves, or a random host) cannot reach from here:
    # that 502 is a documented answer, any other 5xx still fails.
    asks_a_network = case.operation.label == "POST /api/channels"
    checks = [c for c in CHECKS if not (asks_a_network and c is not_a_server_error)]
    response = case.call_and_validate(app=app, headers={"Authorization": f"Bearer {api_token}"},
                                      checks=checks)
    if asks_a_network and response.status_code >= 500:
        assert (response.status_code, response.json()["error"]["code"]) == (502, "network_unreachable")
    SENT[(case.operation.label, response.status_code)] += 1
    if case.operation.path != "/api/openapi.json":
        # Some invalid cases leave the token out: those, and only those, are 401.
        ours = response.request.headers.get("Authorization") == f"Bearer {api_token}"
        assert (response.status_code == 401) != ours, "401 with the token, or none without it"
    if response.status_code >= 400:
        with db.database.connection_context():
            assert row_counts() == before, f"a refused {case.operation.label} wrote rows"


def row_counts():
    return Post.select().count(), Publication.select().count(), Channel.select().count()
