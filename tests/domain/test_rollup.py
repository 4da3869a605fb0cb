"""A post's status follows from its publications' statuses."""
import pytest

from socialpub.lifecycle.rollup import post_status


@pytest.mark.parametrize("counts, expected", [
    ({}, "draft"),
    ({"pending": 4}, "draft"),
    ({"queued": 2, "processing": 1, "published": 1}, "publishing"),
    ({"retrying": 1, "published": 3}, "publishing"),
    ({"failed": 1, "queued": 3}, "publishing"),
    ({"expired": 1, "published": 3}, "partially_published"),
    ({"unconfirmed": 1}, "partially_published"),
    ({"expired": 2, "failed": 2}, "failed"),
    ({"published": 4}, "published"),
    ({"failed": 4}, "failed"),
    ({"published": 3, "failed": 1}, "partially_published"),
])
def test_post_status_is_derived_from_publication_counts(counts, expected):
    assert post_status(counts) == expected
