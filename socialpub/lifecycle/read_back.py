"""Read-back: "published" confirmed by reading the item back from its network.

A publication is recorded published when the network answered with its item's
id. Every minute (``read_back_published``), the items published in the last
day and not yet confirmed are read back by their id — Facebook ``/{post-id}``,
Instagram ``/{ig-media-id}?fields=permalink``, LinkedIn ``/rest/posts/{urn}``
— and each one the network shows is marked confirmed (``confirmed_at``) with
its permalink. One the network says it does not hold ``FLAG_AFTER`` after it
was published is flagged on its page — removed, or held back for review —,
never sent again: a person decides. A read that fails is tried at the next
run. WhatsApp messages are confirmed by Meta's status webhooks instead.

An *unconfirmed* publication of the last day (an attempt that may have
reached the network, which could not then be asked) is looked for the same
way an attempt looks for an earlier one — Instagram by its container,
Facebook by its text — and settled published when the network shows it,
never by sending it again. LinkedIn cannot be asked (publishing again is its
only check): its unconfirmed ones stay for a person.
"""
from __future__ import annotations

import datetime as dt
import logging

from .. import audit
from ..config import Settings
from ..db import write_transaction
from ..errors import SecretUnreadable
from ..models import Channel, Post, Publication, utcnow
from ..networks import LABELS, PublishError, Unverifiable, get_adapter
from ..networks.base import Timeouts
from ..statuses import PublicationStatus as P
from . import delivery

logger = logging.getLogger(__name__)

#: An item the network does not show this long after it was published is flagged.
FLAG_AFTER = dt.timedelta(minutes=10)
#: Items older than this are not read back any more.
WITHIN = dt.timedelta(days=1)
#: Items read back per run; the next run takes the rest.
BATCH = 100


def run(settings: Settings, now: dt.datetime | None = None) -> int:
    """Read back the published items not yet confirmed; return how many were confirmed."""
    now = now or utcnow()
    rows = list(Publication.select(Publication, Channel).join(Channel)
                .where((Publication.status == P.PUBLISHED) & Publication.confirmed_at.is_null()
                       & Publication.last_error.is_null() & Publication.external_id.is_null(False)
                       & (Publication.network != "whatsapp") & (Publication.published_at > now - WITHIN))
                .order_by(Publication.published_at).limit(BATCH))
    confirmed = 0
    for publication in rows:
        confirmed += _read_back(publication, settings, now)
    in_doubt = list(Publication.select(Publication, Channel, Post).join(Channel).switch(Publication).join(Post)
                    .where((Publication.status == P.UNCONFIRMED) & (Publication.network != "whatsapp")
                           & (Publication.updated_at > now - WITHIN))
                    .order_by(Publication.id).limit(BATCH))
    for publication in in_doubt:
        confirmed += _settle_unconfirmed(publication, settings)
    return confirmed


def _settle_unconfirmed(publication: Publication, settings: Settings) -> int:
    """Published, if the network shows the item an earlier attempt may have made (1), else left as it is (0)."""
    channel = publication.channel
    adapter = get_adapter(channel.network, Timeouts(settings.connect_timeout, settings.read_timeout))
    try:
        job = delivery.job_of(publication, channel.token, settings.app_secrets().get(channel.connected_via) or None,
                              settings.linkedin_api_version)
        since = publication.ambiguous_since or publication.started_at or publication.enqueued_at
        found = adapter.find_published(job.target, job.content, since, resume=job.resume,
                                       held_elsewhere=lambda ids: delivery.held_elsewhere(job, ids))
    except (PublishError, Unverifiable, SecretUnreadable) as exc:
        logger.info("Unconfirmed publication %d could not be looked for this time: %s", publication.id, exc)
        return 0
    if found is None:
        return 0
    skew = dt.timedelta(seconds=adapter.clock_skew)
    if adapter.finds_by_text and delivery.contested(job, since - skew):
        return 0  # another publication of this text may have made it: a person decides
    return int(delivery.confirm(publication.id, P.PUBLISHED, "found at the network when looked for again",
                                external_id=found.external_id, url=found.url, by="reading it back"))


def _read_back(publication: Publication, settings: Settings, now: dt.datetime) -> int:
    channel = publication.channel
    adapter = get_adapter(channel.network, Timeouts(settings.connect_timeout, settings.read_timeout))
    try:
        target = delivery.target_of(channel, channel.token, settings.app_secrets().get(channel.connected_via) or None,
                           settings.linkedin_api_version)
        url = adapter.read_back(target, publication.external_id)
    except (PublishError, SecretUnreadable) as exc:
        logger.info("Publication %d could not be read back this time: %s", publication.id, exc)
        return 0
    if url:
        return (Publication.update(confirmed_at=now, external_url=publication.external_url or url)
                .where((Publication.id == publication.id) & (Publication.status == P.PUBLISHED)).execute())
    if publication.published_at < now - FLAG_AFTER:
        label = LABELS[channel.network]
        note = (f"published, but {label} does not show it when it is read back (as of {now:%Y-%m-%d %H:%M} UTC): "
                f"it may have been removed or held back for review — check it on {label}; it is not sent again")
        with write_transaction():
            if (Publication.update(last_error=note).where((Publication.id == publication.id)
                                                          & (Publication.status == P.PUBLISHED)).execute()):
                audit.record(audit.POST, publication.post_id, "not found when read back", actor=None,
                             network=channel.network, channel=channel.id, item=publication.external_id)
        logger.warning("Publication %d: %s", publication.id, note)
    return 0
