"""The WhatsApp adapter against the sandbox: one message per recipient, captions, what was delivered before a failure."""

import pytest

from socialpub.networks import Content, ErrorKind, Unverifiable, get_adapter

from tests.support.adapters import clean  # noqa: F401  (autouse: the sandbox reset before every test)
from tests.support.adapters import (
    image_url,
    publish_error,
    received,
    target,
    utcnow,
)


def test_whatsapp_sends_one_message_per_recipient(sandbox):
    to = target(sandbox, "whatsapp", recipients=("+16505551234", "+447700900123"))
    published = get_adapter("whatsapp").publish(to, Content("Table for two?", link="https://x.example"))
    items = received(sandbox)
    assert [i["to"] for i in items] == ["+16505551234", "+447700900123"]
    assert published.external_id == ",".join(i["item_id"] for i in items)
    assert all(i["item_id"].startswith("wamid.") for i in items)
    assert items[0]["text"] == "Table for two?\n\nhttps://x.example"


def test_whatsapp_image_message_carries_the_text_as_caption(sandbox):
    get_adapter("whatsapp").publish(target(sandbox, "whatsapp"),
                                    Content("Today's special", image_url=image_url(sandbox)))
    [item] = received(sandbox)
    assert (item["text"], item["image"]) == ("Today's special", image_url(sandbox))


def test_whatsapp_without_recipients_is_permanent(sandbox):
    error = publish_error(sandbox, "whatsapp", Content("hi"), recipients=())
    assert error.kind is ErrorKind.PERMANENT and error.message == "no recipients"


def test_whatsapp_failure_after_a_sent_message_keeps_the_delivered_id(sandbox):
    error = publish_error(sandbox, "whatsapp", Content("hi"), recipients=("+16505551234", "nobody"))
    assert error.kind is ErrorKind.PERMANENT and error.code == "100"
    assert list(error.delivered) == ["+16505551234"]
    assert error.delivered["+16505551234"] == received(sandbox)[0]["item_id"]


def test_whatsapp_find_published_is_unverifiable(sandbox):
    with pytest.raises(Unverifiable) as caught:
        get_adapter("whatsapp").find_published(target(sandbox, "whatsapp"), Content("x"), utcnow())
    assert caught.value.network == "whatsapp"
