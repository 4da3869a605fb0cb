"""The error table, row by row: every code Meta and LinkedIn document gets the
kind its row states, whatever HTTP status carries it; the rows this table
changed (131064, 10 and 200–299, …) are pinned by name."""
import json

import pytest
import requests

from socialpub.networks import ErrorKind
from socialpub.networks import error_table
from socialpub.networks.error_table import GRAPH, LINKEDIN, SOURCES, Row
from socialpub.networks.graph import classify, graph_error
from socialpub.networks.linkedin import linkedin_error

META = ("facebook", "instagram", "whatsapp")


def _ends(row):
    """A row's code, or both ends of its range."""
    return sorted({row.codes[0], row.codes[-1]})


GRAPH_CASES = [(network, code, row) for row in GRAPH for code in _ends(row)
               for network in ((row.network,) if row.network else META)]
LINKEDIN_CASES = [(code, row) for row in LINKEDIN for code in _ends(row)]


def _response(status: int, body: dict) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers["Content-Type"] = "application/json"
    return response


@pytest.mark.parametrize("network, code, row", GRAPH_CASES,
                         ids=[f"{n}-{c}{'/' + str(r.subcode) if r.subcode else ''}" for n, c, r in GRAPH_CASES])
def test_each_graph_row_classifies_its_code_as_stated_whatever_the_http_status(network, code, row):
    assert error_table.graph_row(network, code, row.subcode) is row
    for status in (400, 403, 500):
        assert classify(network, code, row.subcode, status) is row.kind


@pytest.mark.parametrize("status, row", LINKEDIN_CASES,
                         ids=[f"{c}-{r.words or 'any'}" for c, r in LINKEDIN_CASES])
def test_each_linkedin_row_classifies_its_status_as_stated(status, row):
    message = f"Content is a {row.words} of urn:li:share:1" if row.words else "refused"
    error = linkedin_error(_response(status, {"message": message, "status": status}))
    assert error.kind is row.kind and error.http_status == status


@pytest.mark.parametrize("row", GRAPH + LINKEDIN, ids=lambda r: f"{r.network or '*'}-{r.code}")
def test_every_row_names_its_documented_source_and_says_what_the_code_means(row):
    assert row.source in SOURCES and row.meaning.strip()


@pytest.mark.parametrize("network, code, subcode, kind", [
    ("whatsapp", 131064, None, ErrorKind.RATE_LIMITED),  # was PERMANENT: a throttle, held and retried
    ("whatsapp", 131048, None, ErrorKind.RATE_LIMITED),
    ("whatsapp", 131049, None, ErrorKind.PERMANENT),  # that person alone; Meta: do not resend at once
    ("whatsapp", 130472, None, ErrorKind.PERMANENT),  # a resend fails the same way
    ("whatsapp", 131005, None, ErrorKind.AUTH),  # was PERMANENT: a permission taken back
    ("facebook", 10, None, ErrorKind.AUTH),  # was PERMANENT
    ("instagram", 200, None, ErrorKind.AUTH),  # was PERMANENT
    ("facebook", 230, None, ErrorKind.AUTH),  # was PERMANENT
    ("whatsapp", 299, None, ErrorKind.AUTH),  # was PERMANENT
    ("facebook", 300, None, ErrorKind.PERMANENT),  # past the permission range: by its status
    ("instagram", 9, 2207042, ErrorKind.RATE_LIMITED),
    ("instagram", 9, None, ErrorKind.PERMANENT),
])
def test_the_rows_this_table_fixed_are_classified_by_metas_words(network, code, subcode, kind):
    assert classify(network, code, subcode, 400) is kind


def test_a_code_the_table_does_not_hold_is_classified_by_its_http_status():
    assert classify("facebook", 424242, None, 400) is ErrorKind.PERMANENT
    assert classify("facebook", 424242, None, 503) is ErrorKind.TRANSIENT
    assert classify("facebook", 0, None, 400) is ErrorKind.PERMANENT  # 0 is WhatsApp's AuthException only
    assert linkedin_error(_response(409, {"message": "conflict"})).kind is ErrorKind.PERMANENT
    assert linkedin_error(_response(502, {"message": "bad gateway"})).kind is ErrorKind.TRANSIENT


def test_a_graph_permission_error_asks_for_re_authorisation_with_metas_words_kept():
    error = graph_error("facebook", _response(403, {"error": {
        "message": "(#200) Requires pages_manage_posts permission", "type": "OAuthException", "code": 200}}))
    assert (error.kind, error.code) == (ErrorKind.AUTH, "200")
    assert error.message == "(#200) Requires pages_manage_posts permission"


def test_linkedins_426_stays_permanent_and_says_the_version_is_no_longer_served():
    error = linkedin_error(_response(426, {"message": "Requested version 20240101 is not active",
                                           "status": 426, "code": "NONEXISTENT_VERSION"}))
    assert error.kind is ErrorKind.PERMANENT and error.code == "NONEXISTENT_VERSION"
    assert error.message.startswith("Requested version 20240101 is not active — ")
    assert "no longer serves the API version" in error.message


def test_linkedins_429_waits_as_long_as_it_asks():
    response = _response(429, {"message": "Resource level throttle limit reached", "status": 429})
    response.headers["Retry-After"] = "7"
    error = linkedin_error(response)
    assert (error.kind, error.retry_after) == (ErrorKind.RATE_LIMITED, 7.0)


def test_two_rows_for_the_same_code_are_refused_when_the_table_is_built():
    twice = (Row(1, ErrorKind.TRANSIENT, "x", "graph"), Row(1, ErrorKind.PERMANENT, "y", "graph"))
    with pytest.raises(ValueError, match="two rows"):
        error_table._graph_index(twice)
