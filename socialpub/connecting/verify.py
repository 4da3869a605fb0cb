"""A channel is checked with its network before it is saved: one read call
with its token (the adapter's ``identify``). A token or account the network
refuses is refused at once, in the network's words, and nothing is stored;
a network that does not answer stores nothing either (502)."""
from __future__ import annotations

from ..errors import NetworkUnreachable, Unprocessable
from ..networks import LABELS, ErrorKind, PublishError, Target, get_adapter
from ..networks.base import Identity, Timeouts

#: A person waits on this call: shorter than a publication's timeouts.
TIMEOUTS = Timeouts(connect=5, read=10)


def identify(values: dict) -> Identity:
    """Who the channel of ``values`` (as intake.channels.parse_channel returns
    them) is on its network.

    Raises:
      Unprocessable: the network refused the token or the account (field ``token``
        or ``account_id``).
      NetworkUnreachable: the network did not answer, or answered an error of its own.
    """
    network = values["network"]
    target = Target(network=network, account_id=values["account_id"], token=values["token"],
                    base_url=values["base_url"], recipients=tuple(values.get("recipients") or ()),
                    api_version=values.get("api_version"))
    try:
        return get_adapter(network, TIMEOUTS).identify(target)
    except PublishError as exc:
        words = exc.redact(values["token"]).message
        if exc.kind is ErrorKind.AUTH:
            raise Unprocessable(f"token: {LABELS[network]} refused it: {words}", field="token") from None
        if exc.kind is ErrorKind.PERMANENT and exc.http_status is None:
            # Refused before any answer: the address is not one the app may call.
            raise Unprocessable(f"base_url: {words}", field="base_url") from None
        if exc.kind is ErrorKind.PERMANENT:
            raise Unprocessable(f"account_id: {LABELS[network]} refused the account: {words}",
                                field="account_id") from None
        raise NetworkUnreachable(f"{LABELS[network]} could not be asked whether the token works "
                                 f"({words}); nothing was saved, try again") from None

