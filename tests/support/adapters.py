"""Helpers of the adapter tests (tests/test_adapter_*.py): targets on the sandbox and reading it."""
import datetime

import pytest
import requests

from socialpub.networks import Content, PublishError, Target, get_adapter

AUTHOR = "urn:li:organization:2414183"
#: The sandbox serves the images on loopback, which the LinkedIn download refuses unless allowed.
ACCOUNTS = {"facebook": "546349135390552", "instagram": "17841400008460056", "linkedin": AUTHOR,
            "whatsapp": "106540352242922"}


@pytest.fixture(autouse=True)
def clean(sandbox):
    requests.post(f"{sandbox.url}/_sandbox/reset", json={"latencies": True, "webhook": True}, timeout=5).raise_for_status()


def target(sandbox, network, token="token-1", **extra):
    base = sandbox.url if network == "linkedin" else f"{sandbox.url}/v24.0"
    if network == "whatsapp":
        extra.setdefault("recipients", ("+16505551234",))
    return Target(network, ACCOUNTS[network], token, base, **extra)


def image_url(sandbox):
    return f"{sandbox.url}/_sandbox/image.jpg"


def configure(sandbox, body):
    requests.post(f"{sandbox.url}/_sandbox/config", json=body, timeout=5).raise_for_status()


def received(sandbox, network=None):
    params = {"network": network} if network else {}
    return requests.get(f"{sandbox.url}/_sandbox/received", params=params, timeout=5).json()


def all_requests(sandbox):
    return requests.get(f"{sandbox.url}/_sandbox/requests", params={"all": "1"}, timeout=5).json()


def publish_error(sandbox, network, content=None, **target_extra) -> PublishError:
    content = content or Content("Error test", image_url=image_url(sandbox))
    with pytest.raises(PublishError) as caught:
        get_adapter(network).publish(
            target(sandbox, network, **target_extra), content)
    return caught.value


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
